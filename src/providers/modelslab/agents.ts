import { CachedCredential } from '../../credentials/cached.js';
import type { Credentials, ResolvedCredential, SaveResult } from '../../credentials/index.js';
import { ConfigurationError, ProviderError } from '../../errors.js';
import { HttpClient, type HttpClientOptions, type Method } from '../../http/client.js';
import { sleep } from '../../http/retry.js';
import type { Logger } from '../../log.js';
import { VERSION } from '../../version.js';
import { MISSING_TOKEN_NEXT, MODELSLAB_HINTS, parseModelslabError } from './errors.js';
import { TokenSource } from './token.js';
import type {
  ApiKeyInfo,
  Limiter,
  Profile,
  SignupResult,
  TokenExpiry,
  TokenGrant,
  UsageHistoryQuery,
  WalletBalance,
} from './types.js';

export const AGENTS_BASE = '/api/agents/v1';

/** The documented per-minute limits (headless-flow.mdx); the headers tell what is left. */
export const LIMITS: Record<Limiter, number> = {
  'agent-auth': 20,
  'agent-billing': 15,
  'agent-general': 120,
};

/** Longest we wait for a limiter window to reopen inside one call; beyond it the caller is told when. */
const MAX_LIMIT_WAIT_MS = 30_000;

export interface AgentsClientOptions {
  baseUrl: string;
  credentials: Credentials;
  log: Logger;
  now?: () => number;
  http?: Partial<HttpClientOptions>;
}

export interface AgentsRequest {
  method: Method;
  /** Under /api/agents/v1, e.g. `/wallet/balance`. */
  path: string;
  limiter: Limiter;
  /** Default true: send the stored Bearer token (refreshed, retried once on a 401). */
  auth?: boolean;
  json?: unknown;
  query?: Record<string, string | number | undefined>;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface AgentsResponse<T> {
  /** The envelope's `data`, or the whole body for the answers the docs show without an envelope. */
  data: T;
  status: number;
  requestId: string | undefined;
  headers: Record<string, string>;
  /**
   * ModelsLab answered a billing mutation from its idempotency cache (`idempotency_replay: true`): the
   * original request's outcome, not a second charge. The docs do not say where the flag sits; both places count.
   */
  replay: boolean;
}

export interface LimiterState {
  /** Per minute, from X-RateLimit-Limit (the documented one until a header says otherwise). */
  limit?: number;
  remaining?: number;
  /** Epoch ms when the window reopens. */
  resetAt?: number;
}

/** What a login or verification stored, and where. */
export interface SessionSaved {
  grant: TokenGrant;
  token: SaveResult;
  apiKey: SaveResult | undefined;
}

/**
 * The ModelsLab Agents API (control plane): Bearer-token calls under /api/agents/v1 with the
 * `{data, error, meta}` envelope, the three limiters tracked from X-RateLimit-* headers, and the token
 * source that refreshes before expiry and once on a 401.
 */
export class ModelslabClient {
  readonly tokens: TokenSource;
  /** Per limiter, from the last answer's X-RateLimit-Remaining / X-RateLimit-Reset. */
  readonly limiters: Record<Limiter, LimiterState> = {
    'agent-auth': {},
    'agent-billing': {},
    'agent-general': {},
  };
  private readonly http: HttpClient;
  private readonly key: CachedCredential;
  private readonly credentials: Credentials;
  private readonly now: () => number;

  constructor(options: AgentsClientOptions) {
    this.now = options.now ?? Date.now;
    this.credentials = options.credentials;
    this.http = new HttpClient({
      provider: 'modelslab',
      baseUrl: options.baseUrl,
      userAgent: `atelier-mcp/${VERSION}`,
      log: options.log,
      parseError: parseModelslabError,
      hints: MODELSLAB_HINTS,
      ...options.http,
    });
    this.key = new CachedCredential(options.credentials, 'modelslab_api_key', this.now);
    this.tokens = new TokenSource(
      options.credentials,
      async (token, tokenExpiry) => {
        const { data } = await this.send<TokenGrant>(
          {
            method: 'POST',
            path: '/auth/refresh',
            limiter: 'agent-general',
            json: tokenExpiry ? { token_expiry: tokenExpiry } : {},
          },
          token,
        );
        // An answer without token_expiry keeps the lifetime asked for, so the next refresh asks for it again.
        return tokenExpiry && data && typeof data === 'object'
          ? { token_expiry: tokenExpiry, ...data }
          : data;
      },
      options.log,
      this.now,
    );
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** The generation API key (env, then the stores), cached for a minute. */
  apiKey(): Promise<ResolvedCredential | undefined> {
    return this.key.get();
  }

  /** Forget the cached API key: call it when the generation API rejected it (401). */
  apiKeyRejected(): void {
    this.key.drop();
  }

  // ---------- auth ----------

  async signup(
    body: { email: string; password: string; name?: string },
    signal?: AbortSignal,
  ): Promise<SignupResult> {
    const json = { ...body, password_confirmation: body.password };
    return (
      await this.request<SignupResult>({
        method: 'POST',
        path: '/auth/signup',
        limiter: 'agent-auth',
        auth: false,
        json,
        signal,
      })
    ).data;
  }

  async verifyEmail(verificationCode: string, signal?: AbortSignal): Promise<SessionSaved> {
    const { data } = await this.request<TokenGrant>({
      method: 'POST',
      path: '/auth/verify-email',
      limiter: 'agent-auth',
      auth: false,
      json: { verification_code: verificationCode },
      signal,
    });
    return this.keep(data);
  }

  async resendVerification(
    email: string,
    signal?: AbortSignal,
  ): Promise<{ message?: string; sandbox_verification_code?: string }> {
    return (
      await this.request<{ message?: string; sandbox_verification_code?: string }>({
        method: 'POST',
        path: '/auth/resend-verification',
        limiter: 'agent-auth',
        auth: false,
        json: { email },
        signal,
      })
    ).data;
  }

  async login(
    body: { email: string; password: string; token_expiry?: TokenExpiry; device_name?: string },
    signal?: AbortSignal,
  ): Promise<SessionSaved> {
    const { data } = await this.request<TokenGrant>({
      method: 'POST',
      path: '/auth/login',
      limiter: 'agent-auth',
      auth: false,
      json: { device_name: 'atelier-mcp', ...body },
      signal,
    });
    // The lifetime asked for, when the answer does not say it: the refresh resends it.
    return this.keep(
      body.token_expiry && data && typeof data === 'object'
        ? { token_expiry: body.token_expiry, ...data }
        : data,
    );
  }

  /**
   * Revoke the current token (or all of them) upstream, then delete the stored token. The stored API key
   * stays: it is a separate credential that logout does not revoke.
   */
  async logout(all: boolean, signal?: AbortSignal): Promise<{ revokedUpstream: boolean }> {
    let revokedUpstream = false;
    if (await this.tokens.current()) {
      try {
        await this.request({
          method: 'POST',
          path: all ? '/auth/logout-all' : '/auth/logout',
          limiter: 'agent-general',
          signal,
        });
        revokedUpstream = true;
      } catch (error) {
        // A token the server already refuses is as good as revoked; anything else must not lose it silently.
        if (!(error instanceof ProviderError && error.status === 401)) throw error;
      }
    }
    await this.tokens.clear();
    return { revokedUpstream };
  }

  // ---------- account ----------

  async profile(signal?: AbortSignal): Promise<Profile> {
    return (await this.request<Profile>({ method: 'GET', path: '/me', limiter: 'agent-general', signal }))
      .data;
  }

  async listApiKeys(signal?: AbortSignal): Promise<ApiKeyInfo[]> {
    return list(
      (
        await this.request<ApiKeyInfo[]>({
          method: 'GET',
          path: '/api-keys',
          limiter: 'agent-general',
          signal,
        })
      ).data,
    );
  }

  async createApiKey(body: { name: string; notes?: string }, signal?: AbortSignal): Promise<ApiKeyInfo> {
    return (
      await this.request<ApiKeyInfo>({
        method: 'POST',
        path: '/api-keys',
        limiter: 'agent-general',
        json: body,
        signal,
      })
    ).data;
  }

  async deleteApiKey(id: number, signal?: AbortSignal): Promise<void> {
    await this.request({ method: 'DELETE', path: `/api-keys/${id}`, limiter: 'agent-general', signal });
  }

  async usageSummary(signal?: AbortSignal): Promise<Record<string, unknown>> {
    return (
      await this.request<Record<string, unknown>>({
        method: 'GET',
        path: '/usage/summary',
        limiter: 'agent-general',
        signal,
      })
    ).data;
  }

  async usageProducts(signal?: AbortSignal): Promise<Array<Record<string, unknown>>> {
    return list(
      (
        await this.request<Array<Record<string, unknown>>>({
          method: 'GET',
          path: '/usage/products',
          limiter: 'agent-general',
          signal,
        })
      ).data,
    );
  }

  async usageHistory(
    query: UsageHistoryQuery,
    signal?: AbortSignal,
  ): Promise<Array<Record<string, unknown>>> {
    return list(
      (
        await this.request<Array<Record<string, unknown>>>({
          method: 'GET',
          path: '/usage/history',
          limiter: 'agent-general',
          query: { ...query },
          signal,
        })
      ).data,
    );
  }

  async walletBalance(signal?: AbortSignal): Promise<WalletBalance> {
    return (
      await this.request<WalletBalance>({
        method: 'GET',
        path: '/wallet/balance',
        limiter: 'agent-general',
        signal,
      })
    ).data;
  }

  async subscriptions(signal?: AbortSignal): Promise<Array<Record<string, unknown>>> {
    const { data } = await this.request<unknown>({
      method: 'GET',
      path: '/subscriptions',
      limiter: 'agent-general',
      signal,
    });
    return subscriptionList(data);
  }

  // ---------- transport ----------

  /**
   * One Agents API call. Other modules (billing, wallet, subscriptions) use this too: it adds the token,
   * waits for a spent limiter, unwraps the envelope, and on a 401 drops the cached token and retries once
   * with a replacement (a token stored meanwhile, or a refreshed one).
   */
  async request<T = unknown>(req: AgentsRequest): Promise<AgentsResponse<T>> {
    if (req.auth === false) return this.send<T>(req, undefined);
    const token = await this.tokens.get();
    if (!token)
      throw new ConfigurationError('No ModelsLab access token is stored.', { next: MISSING_TOKEN_NEXT });
    try {
      return await this.send<T>(req, token);
    } catch (error) {
      if (!(error instanceof ProviderError && error.status === 401)) throw error;
      const replacement = await this.tokens.rejected(token);
      if (!replacement) throw error;
      return this.send<T>(req, replacement);
    }
  }

  private async send<T>(req: AgentsRequest, token: string | undefined): Promise<AgentsResponse<T>> {
    await this.waitForLimiter(req.limiter, req.signal);
    const call = () =>
      this.http.request<unknown>({
        method: req.method,
        path: AGENTS_BASE + req.path,
        json: req.json,
        query: req.query,
        idempotencyKey: req.idempotencyKey,
        authorization: token ? `Bearer ${token}` : undefined,
        signal: req.signal,
      });
    let res;
    try {
      res = await call();
    } catch (error) {
      if (error instanceof ProviderError) this.noteLimits(req.limiter, error);
      // A 429 means the request was not processed: a POST is safe to send once more after the wait the
      // server asked for (GETs were already retried by the HTTP layer).
      if (!(error instanceof ProviderError && error.status === 429 && req.method === 'POST')) throw error;
      const wait = (error.retryAfterSeconds ?? 1) * 1000;
      if (wait > MAX_LIMIT_WAIT_MS) throw error;
      await sleep(wait, req.signal);
      res = await call();
    }
    this.noteHeaders(req.limiter, res.headers);
    const body = res.body as Record<string, unknown> | undefined;
    const enveloped = body !== null && typeof body === 'object' && 'data' in body;
    const meta = enveloped ? (body.meta as { request_id?: unknown } | undefined) : undefined;
    return {
      data: (enveloped ? body.data : body) as T,
      status: res.status,
      requestId: typeof meta?.request_id === 'string' ? meta.request_id : res.requestId,
      headers: res.headers,
      replay:
        body?.idempotency_replay === true ||
        (body?.data as { idempotency_replay?: unknown } | null | undefined)?.idempotency_replay === true,
    };
  }

  /** A limiter the last answer said is spent: wait for its window, or say when to come back. */
  private async waitForLimiter(limiter: Limiter, signal?: AbortSignal): Promise<void> {
    const state = this.limiters[limiter];
    if (state.remaining !== 0 || state.resetAt === undefined) return;
    const wait = state.resetAt - this.now();
    if (wait <= 0) return;
    if (wait > MAX_LIMIT_WAIT_MS) {
      throw new ProviderError({
        provider: 'modelslab',
        status: 429,
        code: 'rate_limited',
        message: `The ${limiter} limit (${state.limit ?? LIMITS[limiter]}/min) is used up; not sent.`,
        retryAfterSeconds: Math.ceil(wait / 1000),
      });
    }
    await sleep(wait, signal);
  }

  private noteLimits(limiter: Limiter, error: ProviderError): void {
    this.noteHeaders(limiter, error.headers);
    if (error.status === 429) {
      this.limiters[limiter] = {
        ...this.limiters[limiter],
        remaining: 0,
        resetAt: this.now() + (error.retryAfterSeconds ?? 60) * 1000,
      };
    }
  }

  private noteHeaders(limiter: Limiter, headers: Record<string, string>): void {
    const remaining = Number(headers['x-ratelimit-remaining']);
    const reset = Number(headers['x-ratelimit-reset']);
    const limit = Number(headers['x-ratelimit-limit']);
    if (!Number.isFinite(remaining)) return;
    this.limiters[limiter] = {
      ...(Number.isFinite(limit) ? { limit } : {}),
      remaining,
      // Epoch seconds (what the CLI assumes), epoch ms, or seconds from now.
      resetAt: !Number.isFinite(reset)
        ? undefined
        : reset > 1e12
          ? reset
          : reset > 1e9
            ? reset * 1000
            : this.now() + reset * 1000,
    };
  }

  /** Store what a login or verification granted: token, expiry, and the default API key when there is one. */
  private async keep(grant: TokenGrant): Promise<SessionSaved> {
    if (typeof grant?.access_token !== 'string' || grant.access_token === '') {
      throw new ProviderError({
        provider: 'modelslab',
        code: 'unexpected_response',
        message: 'ModelsLab answered without an access token.',
        hints: MODELSLAB_HINTS,
      });
    }
    const token = await this.tokens.save(grant);
    let apiKey: SaveResult | undefined;
    if (typeof grant.api_key === 'string' && grant.api_key !== '') {
      apiKey = await this.credentials.save('modelslab_api_key', grant.api_key);
      this.key.drop();
    }
    return { grant, token, apiKey };
  }
}

/**
 * GET /subscriptions: the documents say it lists subscriptions grouped by kind (addon, enterprise, normal); a flat
 * list (bare or {items}) has been seen too. A grouped answer is flattened, each row keeping its kind.
 */
export function subscriptionList(data: unknown): Array<Record<string, unknown>> {
  const rows = (value: unknown): Array<Record<string, unknown>> =>
    Array.isArray(value)
      ? value.filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object')
      : [];
  if (Array.isArray(data)) return rows(data);
  if (data === null || typeof data !== 'object') return [];
  const d = data as Record<string, unknown>;
  if (Array.isArray(d.items)) return rows(d.items);
  if (Array.isArray(d.data)) return rows(d.data);
  const grouped = d.subscriptions !== undefined ? d.subscriptions : d;
  if (Array.isArray(grouped)) return rows(grouped);
  if (grouped === null || typeof grouped !== 'object') return [];
  return Object.entries(grouped as Record<string, unknown>).flatMap(([kind, group]) =>
    rows(group).map((s) => ({ kind, ...s })),
  );
}

function list<T>(data: T[] | { items?: T[]; data?: T[] } | undefined): T[] {
  // The CLI meets both a bare array and {items:[…]} for lists; accept either.
  if (Array.isArray(data)) return data;
  return data?.items ?? data?.data ?? [];
}
