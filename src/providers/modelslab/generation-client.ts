import type { ToolContext } from '../../context.js';
import { ConfigurationError, ProviderError } from '../../errors.js';
import type { RateLimit } from '../../generation/adapter.js';
import { quoteProvider } from '../../generation/outcome.js';
import { HttpClient } from '../../http/client.js';
import { resetEpochMs } from '../../http/retry.js';
import type { Logger } from '../../log.js';
import { VERSION } from '../../version.js';
import { MISSING_KEY_NEXT, MODELSLAB_HINTS, parseModelslabError } from './errors.js';

/** The generation APIs take the API key, not the Agents token: a 401 is about the key. */
const KEY_HINTS = {
  ...MODELSLAB_HINTS,
  unauthorized: `The ModelsLab API key was rejected (revoked or mistyped). ${MISSING_KEY_NEXT}`,
};

/** The flat answer of the generation APIs (create and fetch share it; notes/modelslab.md §2.3). */
export interface ModelslabAnswer {
  status?: string;
  id?: number | string | null;
  eta?: number | string;
  message?: string;
  /** Legacy endpoints spell it so. */
  messege?: string;
  output?: unknown;
  future_links?: unknown;
  proxy_links?: unknown;
  fetch_result?: string;
  generationTime?: number | string;
  nsfw_content_detected?: boolean | string;
  meta?: { id?: number | string; model_id?: string; seed?: number | string; [k: string]: unknown };
  [k: string]: unknown;
}

/** An answer with what identifies the exchange it came in. */
export interface ModelslabReply {
  answer: ModelslabAnswer;
  status: number;
  requestId: string | undefined;
}

export interface ModelslabGenerationClientOptions {
  baseUrl: string;
  /** The generation API key; undefined when none is configured. */
  apiKey: () => Promise<string | undefined>;
  /** Told when ModelsLab rejected the key, so a cached copy is dropped. */
  keyRejected?: () => void;
  log: Logger;
  http?: Partial<ConstructorParameters<typeof HttpClient>[0]>;
}

/**
 * The ModelsLab generation APIs (/api/v6..v8): the API key travels in the JSON body of every POST, answers
 * are flat `{status, …}`, and an error may come as HTTP 200 with `status: "error"`.
 */
export class ModelslabGenerationClient {
  private readonly http: HttpClient;
  private readonly options: ModelslabGenerationClientOptions;
  rateLimit: RateLimit = {};

  constructor(options: ModelslabGenerationClientOptions) {
    this.options = options;
    this.http = new HttpClient({
      provider: 'modelslab',
      baseUrl: options.baseUrl,
      userAgent: `atelier-mcp/${VERSION}`,
      log: options.log,
      parseError: parseModelslabError,
      hints: KEY_HINTS,
      ...options.http,
    });
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** A fetch_result URL may be POSTed with the key only when it is on the configured origin. */
  isOwnOrigin(url: string): boolean {
    try {
      return new URL(url).origin === new URL(this.http.baseUrl).origin;
    } catch {
      return false;
    }
  }

  /** POST `pathOrUrl` (a path, or a URL on our origin) with the key merged into the body; fetches are retryable. */
  async post(
    pathOrUrl: string,
    body: Record<string, unknown>,
    bounds: { signal?: AbortSignal; deadline?: number },
    opts: { retryable: boolean },
  ): Promise<ModelslabAnswer> {
    return (await this.send(pathOrUrl, body, bounds, opts)).answer;
  }

  /** As post, with the HTTP status and request id that an error about the answer must keep. */
  async send(
    pathOrUrl: string,
    body: Record<string, unknown>,
    bounds: { signal?: AbortSignal; deadline?: number },
    opts: { retryable: boolean },
  ): Promise<ModelslabReply> {
    const key = await this.options.apiKey();
    if (!key) throw new ConfigurationError('No ModelsLab API key is configured.', { next: MISSING_KEY_NEXT });
    const path = pathOrUrl.startsWith('/') ? pathOrUrl : new URL(pathOrUrl).pathname;
    try {
      const res = await this.http.request<ModelslabAnswer>({
        method: 'POST',
        path,
        json: { ...body, key },
        signal: bounds.signal,
        deadline: bounds.deadline,
        // ModelsLab replays no create request, so a create that may have arrived is never sent twice.
        retryable: opts.retryable,
      });
      this.noteRateLimit(res.headers);
      const answer = res.body;
      if (!answer || typeof answer !== 'object') {
        throw new ProviderError({
          provider: 'modelslab',
          status: res.status,
          code: 'unexpected_response',
          message: 'ModelsLab answered without a JSON object.',
          requestId: res.requestId,
          body: answer,
        });
      }
      return { answer, status: res.status, requestId: res.requestId };
    } catch (error) {
      if (error instanceof ProviderError && error.status === 401) this.options.keyRejected?.();
      throw error;
    }
  }

  /** GET with the key as the `key` query parameter (the API-key twins of the Agents API reads, e.g. model-search). */
  async get<T = unknown>(
    path: string,
    query: Record<string, string | number | undefined>,
    bounds: { signal?: AbortSignal },
  ): Promise<T> {
    const key = await this.options.apiKey();
    if (!key) throw new ConfigurationError('No ModelsLab API key is configured.', { next: MISSING_KEY_NEXT });
    const res = await this.http.request<T>({
      method: 'GET',
      path,
      query: { ...query, key },
      signal: bounds.signal,
    });
    const body = res.body as { status?: string } | undefined;
    if (body && typeof body === 'object' && (body.status === 'error' || body.status === 'failed'))
      throw this.refusal(body as ModelslabAnswer);
    return res.body;
  }

  /** An answer whose status says the request was refused (HTTP 200 included), as an error of ours. */
  refusal(answer: ModelslabAnswer): ProviderError {
    const parsed = parseModelslabError(200, answer);
    return new ProviderError({
      provider: 'modelslab',
      status: 200,
      code: answer.status === 'failed' ? 'failed' : 'error',
      message: quoteProvider('modelslab', parsed.message ?? 'refused the request without a reason'),
      body: answer,
      hints: KEY_HINTS,
    });
  }

  private noteRateLimit(headers: Record<string, string>): void {
    const remaining = headers['x-ratelimit-remaining'];
    const limit = headers['x-ratelimit-limit'];
    const reset = headers['x-ratelimit-reset'];
    if (remaining === undefined) return;
    this.rateLimit = {
      remaining: Number(remaining),
      ...(limit !== undefined ? { limit: Number(limit) } : {}),
      ...(reset !== undefined ? { resetAt: resetEpochMs(reset) } : {}),
    };
  }
}

/** The client a tool call uses: the configured origin and the API key behind ctx.modelslab (cached, dropped on a 401). */
export function modelslabGenerationClient(
  ctx: Pick<ToolContext, 'config' | 'modelslab' | 'log'>,
): ModelslabGenerationClient {
  return new ModelslabGenerationClient({
    baseUrl: ctx.config.modelslabBaseUrl,
    apiKey: async () => (await ctx.modelslab.apiKey())?.value,
    keyRejected: () => ctx.modelslab.apiKeyRejected(),
    log: ctx.log,
  });
}
