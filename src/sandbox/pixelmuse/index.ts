import { ApiError, json, rateHeaders, write, type Exchange } from '../core/exchange.js';
import { WindowLimiter } from '../core/rate-limit.js';
import { matchRoute, type Route } from '../core/routes.js';
import { startEmulatorServer, type Fault } from '../core/server.js';
import type { RecordedRequest } from '../core/exchange.js';
import { MODELS, PACKAGES, USD_PER_CREDIT, type ModelSpec } from './catalog.js';
import { createImages, type PixelmuseExchange } from './images.js';
import type { MppSellerOptions } from './mpp.js';
import { createSite } from './site.js';

/** The one key the sandbox accepts by default. Shaped like a real test key so redaction and masking apply. */
export const SANDBOX_PIXELMUSE_KEY = 'pm_test_5a4d6b0e8c1f4a7b9e2d3c6f1a8b7e40';

export interface PixelmuseEmulatorOptions {
  /** Default 0 (ephemeral). The host is always 127.0.0.1. */
  port?: number;
  /** Accepted Bearer keys; default [SANDBOX_PIXELMUSE_KEY]. */
  apiKeys?: string[];
  /** Starting balance; default 100. */
  credits?: number;
  /** Completion delay of async models; a number applies to all of them. */
  jobDelayMs?: number | Partial<Record<string, number>>;
  /** The longest the server holds a `Prefer: wait` answer, whatever the client asks (the real one: 55 s). */
  maxPreferWaitSeconds?: number;
  /** Per API key (and per IP on public routes); default 60. */
  rateLimitPerMinute?: number;
  /** Clock for timestamps, rate-limit windows, idempotency and checkout expiry; default Date.now. */
  now?: () => number;
  /** The MPP seller on POST /api/v1/images/generate without a key; `stripe` confirms its SPTs. */
  mpp?: MppSellerOptions;
}

export interface PixelmuseEmulator {
  /** Origin without a trailing slash, e.g. http://127.0.0.1:40123. */
  url: string;
  credits: number;
  readonly requests: RecordedRequest[];
  /** The next `times` matching requests get this fault instead of normal handling. */
  inject(fault: Fault): void;
  close(): Promise<void>;
}

/** public: no key needed; key: Bearer required; mpp: Bearer, or the MPP 402 when there is no credential. */
type Auth = 'public' | 'key' | 'mpp';

const errorBody = (ex: Exchange, code: string, message: string) => ({
  error: { code, message },
  request_id: ex.requestId,
});

const CODE_FOR_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_credits',
  404: 'not_found',
  422: 'content_policy_violation',
  429: 'rate_limit_error',
  503: 'service_unavailable',
};

export async function startPixelmuseEmulator(
  opts: PixelmuseEmulatorOptions = {},
): Promise<PixelmuseEmulator> {
  const now = opts.now ?? Date.now;
  const apiKeys = new Set(opts.apiKeys ?? [SANDBOX_PIXELMUSE_KEY]);
  const rateLimit = opts.rateLimitPerMinute ?? 60;
  const startedAt = new Date(now()).toISOString();
  const account = { credits: opts.credits ?? 100 };
  const limiter = new WindowLimiter(now);

  const server = await startEmulatorServer({
    port: opts.port,
    errorBody: (ex, status, message) => errorBody(ex, CODE_FOR_STATUS[status] ?? 'api_error', message),
    async handle(ex) {
      const ctx: PixelmuseExchange = Object.assign(ex, { apiKey: null });
      if (await site.handleSite(ctx)) return;
      try {
        await handleApi(ctx);
      } catch (err) {
        const apiError =
          err instanceof ApiError ? err : new ApiError(500, 'api_error', 'Internal sandbox error.');
        json(ctx, apiError.status, errorBody(ctx, apiError.code, apiError.message), apiError.headers);
      }
    },
  });
  const images = createImages({
    server,
    now,
    account,
    jobDelayMs: opts.jobDelayMs,
    maxPreferWaitSeconds: opts.maxPreferWaitSeconds ?? 55,
    mpp: opts.mpp,
  });
  const site = createSite({ server, now, account, images });

  const modelObject = ({ mode: _mode, ...model }: ModelSpec) => model;

  const routes: Array<Route<PixelmuseExchange, Auth>> = [
    {
      method: 'GET',
      pattern: /^\/api\/v1\/models$/,
      auth: 'public',
      run: (ctx) => json(ctx, 200, { data: MODELS.map(modelObject) }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/models\/([^/]+)$/,
      auth: 'public',
      run: (ctx, [id = '']) => {
        const model = MODELS.find((m) => m.id === id);
        if (!model) throw new ApiError(404, 'not_found', `Model ${id} not found.`);
        json(ctx, 200, modelObject(model));
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/pricing$/,
      auth: 'public',
      run: (ctx) =>
        json(ctx, 200, {
          usd_per_credit: USD_PER_CREDIT,
          models: MODELS.map((m) => ({
            model: m.id,
            name: m.name,
            description: m.description,
            credit_cost: m.credit_cost,
            // Cents first so 7 credits is 0.7, not 0.7000000000000001.
            price_usd: Math.round(m.credit_cost * USD_PER_CREDIT * 100) / 100,
            price_cents: Math.round(m.credit_cost * USD_PER_CREDIT * 100),
            is_pro: m.is_pro,
            supports_image_input: m.supports_image_input,
            supported_aspect_ratios: m.supported_aspect_ratios,
            strengths: m.strengths,
            weaknesses: m.weaknesses,
          })),
          updated_at: startedAt,
        }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/billing\/packages$/,
      auth: 'public',
      run: (ctx) => json(ctx, 200, { data: PACKAGES }),
    },
    { method: 'POST', pattern: /^\/api\/v1\/billing\/checkout$/, auth: 'key', run: site.createCheckout },
    { method: 'POST', pattern: /^\/api\/v1\/images$/, auth: 'key', run: images.createImage },
    { method: 'POST', pattern: /^\/api\/v1\/images\/generate$/, auth: 'mpp', run: images.createImage },
    { method: 'GET', pattern: /^\/api\/v1\/images$/, auth: 'key', run: images.listImages },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/images\/([^/]+)$/,
      auth: 'key',
      run: (ctx, [id = '']) => json(ctx, 200, images.view(images.visibleImage(id))),
    },
    {
      method: 'PATCH',
      pattern: /^\/api\/v1\/images\/([^/]+)$/,
      auth: 'key',
      run: (ctx, [id = '']) => {
        const body = images.parseJson(ctx);
        const record = images.visibleImage(id);
        const visibility = body['visibility'];
        if (visibility !== 'public' && visibility !== 'private') {
          throw new ApiError(400, 'invalid_request_error', 'visibility must be "public" or "private".');
        }
        record.visibility = visibility;
        json(ctx, 200, images.view(record));
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/api\/v1\/images\/([^/]+)$/,
      auth: 'key',
      run: (ctx, [id = '']) => {
        images.visibleImage(id).deleted = true;
        write(ctx, 204, rateHeaders(ctx));
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/account$/,
      auth: 'key',
      run: (ctx) =>
        json(ctx, 200, {
          user_id: 'user_sandbox',
          email: 'sandbox@atelier.test',
          plan: 'free',
          credits: { total: account.credits, subscription: 0, purchased: account.credits },
          rate_limit: { requests_per_minute: rateLimit },
        }),
    },
    { method: 'GET', pattern: /^\/api\/v1\/account\/usage$/, auth: 'key', run: images.usage },
  ];

  const handleApi = async (ctx: PixelmuseExchange): Promise<void> => {
    const matched = matchRoute(routes, ctx.method, ctx.path);

    const authorization = ctx.headers['authorization'];
    const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
    const validKey = bearer !== undefined && apiKeys.has(bearer) ? bearer : null;
    const ip = ctx.req.socket.remoteAddress ?? 'unknown';
    const rate = limiter.consume(validKey ? `key:${validKey}` : `ip:${ip}`, rateLimit);
    ctx.rate = rate;
    if (rate.limited) {
      throw new ApiError(429, 'rate_limit_error', 'Rate limit exceeded. Slow down and retry later.', {
        'Retry-After': String(rate.retryAfter),
      });
    }
    if (!matched) throw new ApiError(404, 'not_found', `No route for ${ctx.method} ${ctx.path}.`);
    if (ctx.tooLarge) throw new ApiError(413, 'invalid_request_error', 'Request body is too large.');

    const { route, params } = matched;
    // Without a Bearer key the generate endpoint is MPP: a 402 challenge, or the paid retry.
    if (route.auth === 'mpp' && bearer === undefined) return images.sellWithMpp(ctx);
    if (route.auth !== 'public' && !validKey) {
      throw new ApiError(401, 'authentication_error', 'Invalid API key.');
    }
    ctx.apiKey = validKey;
    await route.run(ctx, params);
  };

  return {
    url: server.url,
    get credits() {
      return account.credits;
    },
    set credits(value: number) {
      account.credits = value;
    },
    requests: server.requests,
    inject: (fault) => server.inject(fault),
    close: () => server.close(),
  };
}
