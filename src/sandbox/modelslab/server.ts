import { ApiError, json, parseJsonObject, type Exchange, type RecordedRequest } from '../core/exchange.js';
import { WindowLimiter } from '../core/rate-limit.js';
import { matchRoute, type Route } from '../core/routes.js';
import { startEmulatorServer, type EmulatorServer, type Fault } from '../core/server.js';
import { Accounts, type MlToken, type MlUser } from './accounts.js';

/** The three Agents API limiters (headless-flow.mdx) and their per-minute limits. */
export const LIMITERS = { 'agent-auth': 20, 'agent-billing': 15, 'agent-general': 120 } as const;
export type Limiter = keyof typeof LIMITERS;

/**
 * none: no credential; token: an Agents API Bearer token; key: a generation API key (body `key` on a POST,
 * query `key` on a GET, as documented).
 */
export type ModelslabAuth = 'none' | 'token' | 'key';

export type ModelslabExchange = Exchange & {
  /** Set for `token` and `key` routes. */
  user: MlUser | null;
  /** Set for `token` routes. */
  token: MlToken | null;
  /** The JSON body; {} when empty. A body that is not a JSON object is refused before the route runs. */
  body: Record<string, unknown>;
};

export interface ModelslabRoute extends Route<ModelslabExchange, ModelslabAuth> {
  /** Counted against this limiter (per IP+email for agent-auth, per IP+user otherwise). */
  limiter?: Limiter;
}

/** What a route module gets: the shared account state, the server (url, timers) and the clock. */
export interface ModelslabEnv {
  accounts: Accounts;
  server: EmulatorServer;
  now: () => number;
}

export type RouteModule = (env: ModelslabEnv) => ModelslabRoute[];

export interface ModelslabServerOptions {
  port?: number;
  now?: () => number;
  /** Per-minute limits; default LIMITERS. */
  limits?: Partial<Record<Limiter, number>>;
}

export interface ModelslabServer {
  url: string;
  accounts: Accounts;
  readonly requests: RecordedRequest[];
  inject(fault: Fault): void;
  close(): Promise<void>;
}

export const AGENTS_PREFIX = '/api/agents/v1';

/** Who may call a route, which limiter it counts against, and what it does. */
type RouteHandling = [
  auth: ModelslabRoute['auth'],
  limiter: ModelslabRoute['limiter'],
  run: ModelslabRoute['run'],
];

/** A route on the ModelsLab origin; `path` is a regular expression source, matched whole. */
export function route(method: string, path: string, ...[auth, limiter, run]: RouteHandling): ModelslabRoute {
  return { method, pattern: new RegExp(`^${path}$`), auth, limiter, run };
}

/** A route under the Agents API prefix. */
export function agentsRoute(method: string, path: string, ...rest: RouteHandling): ModelslabRoute {
  return route(method, `${AGENTS_PREFIX.replace(/\//g, '\\/')}${path}`, ...rest);
}

/** The user a token route runs for (the server resolved it before calling the route). */
export const userOf = (ex: ModelslabExchange): MlUser => ex.user as MlUser;

/** Agents API answers: `{data, error, meta.request_id}`. */
export function ok(ex: Exchange, data: unknown, status = 200): void {
  json(ex, status, { data, error: null, meta: { request_id: ex.requestId } });
}

/** The Agents API 422: the first message up front, every field's messages in details (Laravel's shape). */
export function validationError(fields: Record<string, string>): ApiError {
  const first = Object.values(fields)[0] ?? 'The given data was invalid.';
  return new ApiError(
    422,
    'validation_error',
    first,
    {},
    Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, [v]])),
  );
}

function errorBody(ex: Exchange, error: ApiError): unknown {
  if (ex.path.startsWith(AGENTS_PREFIX)) {
    return {
      data: null,
      error: { code: error.code, message: error.message, details: error.details ?? {} },
      meta: { request_id: ex.requestId },
    };
  }
  // The generation APIs answer {status:"error", message}.
  return { status: 'error', message: error.message };
}

const CODE_FOR_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  402: 'payment_declined',
  404: 'not_found',
  422: 'validation_error',
  429: 'too_many_requests',
  503: 'service_unavailable',
};

/**
 * One server for the ModelsLab origin: the Agents API under /api/agents/v1 and the generation APIs under
 * /api/v6..v8 answer from the same account state, as they do upstream.
 */
export async function startModelslabServer(
  modules: RouteModule[],
  opts: ModelslabServerOptions = {},
): Promise<ModelslabServer> {
  const now = opts.now ?? Date.now;
  const accounts = new Accounts(now);
  const limiter = new WindowLimiter(now);
  const limits = { ...LIMITERS, ...opts.limits };
  let routes: ModelslabRoute[] = [];

  const authenticate = (ctx: ModelslabExchange, auth: ModelslabAuth): void => {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(ctx.headers['authorization'] ?? '')?.[1];
    if (auth === 'token') {
      const found = accounts.authenticate(bearer);
      if (typeof found === 'string') throw new ApiError(401, 'unauthenticated', 'Unauthenticated.');
      ctx.user = found.user;
      ctx.token = found.token;
    } else if (auth === 'key') {
      // Documented: a POST carries the key in its JSON body only; the GET twins (model-search) take `?key=`.
      // A key anywhere else (a header, Bearer) is not one.
      const key = ctx.req.method === 'GET' ? ctx.query.get('key') : ctx.body['key'];
      const user = typeof key === 'string' ? accounts.byApiKey(key) : undefined;
      if (!user) throw new ApiError(401, 'invalid_api_key', 'Invalid API key.');
      ctx.user = user;
    }
  };

  const count = (ctx: ModelslabExchange, name: Limiter): void => {
    const ip = ctx.req.socket.remoteAddress ?? 'unknown';
    const who =
      name === 'agent-auth'
        ? String(ctx.body['email'] ?? '').toLowerCase()
        : String(ctx.user?.id ?? 'anonymous');
    const rate = limiter.consume(`${name}:${ip}:${who}`, limits[name]);
    ctx.rate = rate;
    if (rate.limited) {
      throw new ApiError(429, 'too_many_requests', 'Too Many Attempts.', {
        'Retry-After': String(rate.retryAfter),
      });
    }
  };

  const server = await startEmulatorServer({
    port: opts.port,
    errorBody: (ex, status, message) =>
      errorBody(ex, new ApiError(status, CODE_FOR_STATUS[status] ?? 'server_error', message)),
    async handle(ex) {
      const ctx: ModelslabExchange = Object.assign(ex, { user: null, token: null, body: {} });
      try {
        const matched = matchRoute(routes, ctx.method, ctx.path);
        if (!matched) throw new ApiError(404, 'route_not_found', `No route for ${ctx.method} ${ctx.path}.`);
        if (ctx.tooLarge) throw new ApiError(413, 'payload_too_large', 'Request body is too large.');
        if (ctx.raw.trim() !== '') {
          ctx.body = parseJsonObject(ctx, (message) => new ApiError(400, 'bad_request', message));
        }
        const { route, params } = matched;
        // Laravel runs the throttle before auth for the auth routes and after it for the others.
        if (route.limiter === 'agent-auth') count(ctx, route.limiter);
        authenticate(ctx, route.auth);
        if (route.limiter && route.limiter !== 'agent-auth') count(ctx, route.limiter);
        await route.run(ctx, params);
      } catch (err) {
        const apiError =
          err instanceof ApiError ? err : new ApiError(500, 'server_error', 'Internal sandbox error.');
        json(ctx, apiError.status, errorBody(ctx, apiError), apiError.headers);
      }
    },
  });
  const env: ModelslabEnv = { accounts, server, now };
  routes = modules.flatMap((m) => m(env));

  return {
    url: server.url,
    accounts,
    requests: server.requests,
    inject: (fault) => server.inject(fault),
    close: () => server.close(),
  };
}
