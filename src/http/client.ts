import { randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import {
  DeadlineError,
  NetworkError,
  PROVIDER_LABEL,
  ProviderError,
  type ProviderHints,
  type ProviderName,
  UnexpectedError,
} from '../errors.js';
import type { Logger } from '../log.js';
import { BodyTooLargeError, megabytes, readLimited } from './body.js';
import { backoffMs, RETRYABLE_STATUS, retryAfterMs, SAFE_METHODS, sleep } from './retry.js';
import { loadUndici } from './undici.js';

export type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface RequestOptions {
  method: Method;
  path: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  json?: unknown;
  /** Sent as application/x-www-form-urlencoded (Stripe's API). */
  form?: Record<string, string>;
  /** Makes a POST retryable: the provider replays instead of charging twice. */
  idempotencyKey?: string;
  /** Whether a failed attempt may be sent again; default: safe methods and requests with an idempotency key. */
  retryable?: boolean;
  /** Value of the Authorization header; never logged. */
  authorization?: string;
  signal?: AbortSignal;
  /** Per attempt, headers and body. */
  timeoutMs?: number;
  /**
   * Epoch ms by which the whole request, retries and Retry-After waits included, must be over; past it the
   * request is aborted and a DeadlineError thrown.
   */
  deadline?: number;
  /** Statuses worth sending again; default RETRYABLE_STATUS. A paid request narrows it: its 500 is final. */
  retryOn?: ReadonlySet<number>;
}

export interface HttpResponse<T = unknown> {
  status: number;
  headers: Record<string, string>;
  body: T;
  requestId: string | undefined;
}

/** What a provider's error body says, in whatever shape it uses. */
export interface ParsedError {
  code?: string;
  message?: string;
  requestId?: string;
  /** Structured specifics (per-field validation messages, a decline code); shown as facts. */
  details?: Record<string, unknown>;
  /** A wait the body asks for (ModelsLab's documented 429 `retry_after`), used when no header says one. */
  retryAfterSeconds?: number;
}

export interface HttpClientOptions {
  provider: ProviderName;
  baseUrl: string;
  userAgent: string;
  log: Logger;
  parseError: (status: number, body: unknown) => ParsedError;
  /** This provider's next steps for a rejected credential, a 402 and a 404. */
  hints?: ProviderHints;
  maxRetries?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A server asking for a longer wait than this is not retried: the caller is told when to retry instead. */
  maxRetryWaitMs?: number;
  timeoutMs?: number;
  /** The largest answer body read into memory; a larger one fails the request with response_too_large. */
  maxBodyBytes?: number;
  dispatcher?: Dispatcher;
  random?: () => number;
}

/** Covers an inline (data: URI) image of 20 MB and more, far beyond any JSON answer a provider sends otherwise. */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** The status line and headers arrived, the body did not (too large, cut off, too slow). */
class UnreadBody extends Error {
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly reason: unknown,
  ) {
    super(reason instanceof Error ? reason.message : String(reason), { cause: reason });
  }
}

let sharedAgent: Dispatcher | undefined;

export class HttpClient {
  readonly provider: ProviderName;
  readonly baseUrl: string;
  private readonly options: Required<Omit<HttpClientOptions, 'dispatcher' | 'random' | 'hints'>> &
    Pick<HttpClientOptions, 'dispatcher' | 'random' | 'hints'>;

  constructor(options: HttpClientOptions) {
    this.provider = options.provider;
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.options = {
      maxRetries: 3,
      baseDelayMs: 500,
      maxDelayMs: 8_000,
      maxRetryWaitMs: 30_000,
      timeoutMs: 30_000,
      maxBodyBytes: MAX_BODY_BYTES,
      ...options,
    };
  }

  async request<T = unknown>(req: RequestOptions): Promise<HttpResponse<T>> {
    const { maxRetries, baseDelayMs, maxDelayMs, maxRetryWaitMs, log } = this.options;
    const retryable = req.retryable ?? (SAFE_METHODS.has(req.method) || req.idempotencyKey !== undefined);
    const label = `${req.method} ${req.path}`;
    let earlierUnknown = false;
    for (let attempt = 0; ; attempt++) {
      const started = Date.now();
      const left = req.deadline === undefined ? undefined : req.deadline - started;
      if (left !== undefined && left <= 0) throw this.deadlineError(req, attempt > 0);
      const deadlineSignal = left === undefined ? undefined : AbortSignal.timeout(left);
      let outcome: HttpResponse<T> | { error: unknown };
      try {
        outcome = await this.attempt<T>(req, deadlineSignal);
      } catch (error) {
        if (req.signal?.aborted) throw req.signal.reason;
        if (deadlineSignal?.aborted) throw this.deadlineError(req, true);
        // undici refused to build the request (a header value with a newline, say): no retry can help.
        if ((error as { code?: string }).code === 'UND_ERR_INVALID_ARG') {
          throw new UnexpectedError(
            `The ${label} request to ${PROVIDER_LABEL[this.provider]} could not be sent: ${(error as Error).message}.`,
            {
              cause: error,
              next: 'Check the credential and settings for control characters or spaces, then retry.',
            },
          );
        }
        outcome = { error };
      }
      const elapsed = Date.now() - started;
      if (!('error' in outcome) && outcome.status < 400) {
        log.debug(
          `${this.provider} ${label} -> ${outcome.status} in ${elapsed} ms (${outcome.requestId ?? 'no request id'})`,
        );
        return outcome;
      }
      const unread = 'error' in outcome && outcome.error instanceof UnreadBody ? outcome.error : undefined;
      const failure = unread
        ? this.unreadBodyError(req, unread)
        : 'error' in outcome
          ? this.networkError(req, outcome.error)
          : this.providerError(outcome);
      const status = 'error' in outcome ? undefined : outcome.status;
      const canRetry =
        retryable &&
        attempt < maxRetries &&
        !(unread?.reason instanceof BodyTooLargeError) &&
        (status === undefined || (req.retryOn ?? RETRYABLE_STATUS).has(status));
      const asked = 'error' in outcome ? undefined : this.askedWaitMs(outcome);
      const wait = Math.max(asked ?? 0, backoffMs(attempt, baseDelayMs, maxDelayMs, this.options.random));
      if (!canRetry || wait > maxRetryWaitMs) {
        log.debug(`${this.provider} ${label} failed after ${attempt + 1} attempt(s): ${failure.message}`);
        failure.facts.unshift(...attemptsFact(attempt));
        failure.earlierAttemptUnknown = earlierUnknown;
        throw failure;
      }
      earlierUnknown ||= reachedServer(outcome) && (status === undefined || status >= 500);
      if (req.deadline !== undefined && Date.now() + wait >= req.deadline) {
        throw this.deadlineError(req, reachedServer(outcome), failure);
      }
      log.warn(
        // The logger redacts; the message's own full stop would read oddly before the retry note.
        `${this.provider} ${label}: ${failure.message.replace(/\.$/, '')}; retry ${attempt + 1}/${maxRetries} in ${wait} ms`,
      );
      await sleep(wait, req.signal);
    }
  }

  private async attempt<T>(req: RequestOptions, deadline: AbortSignal | undefined): Promise<HttpResponse<T>> {
    const url = new URL(this.baseUrl + req.path);
    for (const [k, v] of Object.entries(req.query ?? {}))
      if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = {
      'user-agent': this.options.userAgent,
      accept: 'application/json',
      ...req.headers,
    };
    if (req.authorization) headers.authorization = req.authorization;
    if (req.idempotencyKey) headers['idempotency-key'] = req.idempotencyKey;
    let body: string | undefined;
    if (req.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.json);
    } else if (req.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(req.form).toString();
    }
    const timeoutMs = req.timeoutMs ?? this.options.timeoutMs;
    const { Agent, request } = await loadUndici();
    sharedAgent ??= new Agent({ connect: { timeout: 10_000 }, keepAliveTimeout: 10_000 });
    const res = await request(url, {
      method: req.method,
      headers,
      body,
      signal: deadline && req.signal ? AbortSignal.any([req.signal, deadline]) : (deadline ?? req.signal),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      dispatcher: this.options.dispatcher ?? sharedAgent,
    });
    const flat = flattenHeaders(res.headers);
    let text: string;
    try {
      text = (await readLimited(res, { maxBytes: this.options.maxBodyBytes, timeoutMs })).toString('utf8');
    } catch (error) {
      if (req.signal?.aborted) throw error;
      throw new UnreadBody(res.statusCode, flat, error);
    }
    return {
      status: res.statusCode,
      headers: flat,
      body: parseBody(text, flat['content-type']) as T,
      // Stripe names it Request-Id; the others X-Request-ID.
      requestId: flat['x-request-id'] ?? flat['request-id'],
    };
  }

  /** The wait an answer asks for: Retry-After or the rate-limit reset, else the body's own field. */
  private askedWaitMs(res: HttpResponse): number | undefined {
    const fromHeaders = retryAfterMs(res.headers);
    if (fromHeaders !== undefined || res.status < 400) return fromHeaders;
    const seconds = this.options.parseError(res.status, res.body).retryAfterSeconds;
    return seconds === undefined ? undefined : seconds * 1000;
  }

  private providerError(res: HttpResponse): ProviderError {
    const parsed = this.options.parseError(res.status, res.body);
    const retryAfter = this.askedWaitMs(res);
    return new ProviderError({
      provider: this.provider,
      status: res.status,
      code: parsed.code,
      message: parsed.message ?? `HTTP ${res.status}`,
      requestId: parsed.requestId ?? res.requestId,
      retryAfterSeconds: retryAfter === undefined ? undefined : Math.ceil(retryAfter / 1000),
      body: res.body,
      headers: res.headers,
      details: parsed.details,
      facts: parsed.details ? detailFacts(parsed.details) : [],
      hints: this.options.hints,
    });
  }

  private deadlineError(req: RequestOptions, mayHaveReached: boolean, last?: Error): DeadlineError {
    const label = PROVIDER_LABEL[this.provider];
    const message = last
      ? `${label} kept failing until the time allowed for this call ran out (last: ${last.message.replace(/\.$/, '')}).`
      : `${label} did not answer ${req.method} ${req.path} within the time allowed for this call.`;
    this.options.log.debug(`${this.provider} ${req.method} ${req.path}: deadline reached`);
    return new DeadlineError(this.provider, message, { mayHaveReached, cause: last });
  }

  /** Keeps the status: a 2xx whose body was lost may still mean a job was created (and charged). */
  private unreadBodyError(req: RequestOptions, unread: UnreadBody): ProviderError {
    const who = PROVIDER_LABEL[this.provider];
    const tooLarge = unread.reason instanceof BodyTooLargeError;
    const code = (unread.reason as { code?: string }).code;
    const why = unread.reason instanceof Error ? unread.reason.message : String(unread.reason);
    return new ProviderError({
      provider: this.provider,
      status: unread.status,
      code: tooLarge ? 'response_too_large' : 'truncated_response',
      requestId: unread.headers['x-request-id'],
      message: tooLarge
        ? `${who}'s answer to ${req.method} ${req.path} is larger than the ${megabytes(this.options.maxBodyBytes)} this server reads; it was not read.`
        : `${who}'s answer to ${req.method} ${req.path} was cut off after the headers (${code ? `${code}: ` : ''}${why}).`,
      cause: unread.reason,
    });
  }

  private networkError(req: RequestOptions, error: unknown): NetworkError {
    const code = (error as { code?: string }).code;
    const timedOut = code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT';
    const timeoutMs = req.timeoutMs ?? this.options.timeoutMs;
    const what = timedOut
      ? `no answer within ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`}`
      : `${code ?? (error instanceof Error ? error.name : 'error')}: ${error instanceof Error ? error.message : String(error)}`;
    return new NetworkError(
      this.provider,
      `Could not reach ${PROVIDER_LABEL[this.provider]} at ${this.baseUrl} (${what}).`,
      {
        cause: error,
      },
    );
  }
}

/** A refused connection or an unknown host never reached the provider; anything else may have. */
function reachedServer(outcome: { error: unknown } | HttpResponse): boolean {
  if (!('error' in outcome)) return true;
  const code = (outcome.error as { code?: string }).code;
  return !['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(code ?? '');
}

/** `{email: ["taken"]}` becomes "email: taken": one fact per field, each message kept. */
function detailFacts(details: Record<string, unknown>): string[] {
  return Object.entries(details).map(([field, value]) => {
    const text = Array.isArray(value)
      ? value.map(String).join('; ')
      : typeof value === 'object' && value !== null
        ? JSON.stringify(value)
        : String(value);
    return `${field}: ${text}`;
  });
}

function attemptsFact(retries: number): string[] {
  return retries > 0 ? [`Tried ${retries + 1} times with backoff before giving up.`] : [];
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function parseBody(text: string, contentType: string | undefined): unknown {
  if (text === '') return undefined;
  if (contentType?.includes('json') || /^\s*[[{]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** One key per logical operation, reused by every retry of it. */
export function newIdempotencyKey(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}
