import { ApiError } from '../core/exchange.js';
import { roundCents, TOKEN_EXPIRIES, type MlToken, type MlUser, type TokenExpiry } from './accounts.js';
import {
  agentsRoute,
  ok,
  userOf,
  validationError,
  type ModelslabEnv,
  type ModelslabExchange,
  type ModelslabRoute,
} from './server.js';

/**
 * The Agents API account routes (notes/modelslab.md §1.2-1.4): auth with headless verification, tokens
 * with expiry and refresh, profile, API keys, usage and the wallet balance.
 */
export function agentsRoutes({ accounts, now }: ModelslabEnv): ModelslabRoute[] {
  const route = agentsRoute;
  const me = userOf;

  return [
    route('POST', '/auth/signup', 'none', 'agent-auth', (ctx) => {
      const email = str(ctx, 'email');
      const password = str(ctx, 'password');
      const name = str(ctx, 'name');
      const problems: Record<string, string> = {};
      if (!email) problems.email = 'The email field is required.';
      else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email))
        problems.email = 'The email must be a valid email address.';
      else if (accounts.byEmail(email)) problems.email = 'The email has already been taken.';
      if (!password) problems.password = 'The password field is required.';
      else if (password.length < 8) problems.password = 'The password must be at least 8 characters.';
      if (Object.keys(problems).length) throw validationError(problems);
      const user = accounts.createUser({ email, password, name: name || email.split('@')[0] || 'user' });
      ok(
        ctx,
        {
          message: 'Account created. Check your email for the verification code.',
          user: userView(user),
          // Not part of the real API: the sandbox has no mailbox, so it hands the emailed code over here.
          sandbox_verification_code: user.verificationCode,
        },
        201,
      );
    }),
    route('POST', '/auth/verify-email', 'none', 'agent-auth', (ctx) => {
      const code = str(ctx, 'verification_code');
      if (!code) throw validationError({ verification_code: 'The verification code field is required.' });
      const user = accounts.verify(code);
      if (!user)
        throw validationError({ verification_code: 'The verification code is invalid or has expired.' });
      const token = accounts.issueToken(user, '1_month', 'agent-control-plane');
      ok(ctx, {
        message: 'Email verified.',
        ...tokenView(token),
        user: userView(user),
        api_key: defaultKey(user),
      });
    }),
    route('POST', '/auth/resend-verification', 'none', 'agent-auth', (ctx) => {
      const email = str(ctx, 'email');
      if (!email) throw validationError({ email: 'The email field is required.' });
      const user = accounts.byEmail(email);
      // The same answer whether or not the address has an account, as a real service must.
      ok(ctx, {
        message: 'If the account exists and is not verified, a new verification email was sent.',
        ...(user?.verificationCode ? { sandbox_verification_code: user.verificationCode } : {}),
      });
    }),
    route('POST', '/auth/login', 'none', 'agent-auth', (ctx) => {
      const email = str(ctx, 'email');
      const password = str(ctx, 'password');
      const problems: Record<string, string> = {};
      if (!email) problems.email = 'The email field is required.';
      if (!password) problems.password = 'The password field is required.';
      const expiry = tokenExpiry(ctx, problems);
      if (Object.keys(problems).length) throw validationError(problems);
      const user = accounts.byEmail(email);
      if (!user || user.password !== password) {
        throw new ApiError(401, 'invalid_credentials', 'These credentials do not match our records.');
      }
      if (!user.verified) {
        throw new ApiError(403, 'email_not_verified', 'Verify your email address before logging in.');
      }
      const token = accounts.issueToken(user, expiry, str(ctx, 'device_name') || 'agent-control-plane');
      ok(ctx, { ...tokenView(token), user: userView(user), api_key: defaultKey(user) });
    }),
    route('POST', '/auth/refresh', 'token', 'agent-general', (ctx) => {
      const problems: Record<string, string> = {};
      const expiry = tokenExpiry(ctx, problems);
      if (Object.keys(problems).length) throw validationError(problems);
      const old = ctx.token as MlToken;
      const token = accounts.issueToken(me(ctx), expiry, str(ctx, 'device_name') || old.name);
      old.revoked = true;
      ok(ctx, { ...tokenView(token), message: 'Token refreshed.' });
    }),
    route('POST', '/auth/logout', 'token', 'agent-general', (ctx) => {
      (ctx.token as MlToken).revoked = true;
      ok(ctx, { message: 'Logged out.' });
    }),
    route('POST', '/auth/logout-all', 'token', 'agent-general', (ctx) => {
      const revoked = accounts.revokeAll(me(ctx));
      ok(ctx, { message: 'Logged out of all sessions.', revoked });
    }),
    route('GET', '/auth/tokens', 'token', 'agent-general', (ctx) => {
      ok(
        ctx,
        accounts.tokens
          .filter((t) => t.userId === me(ctx).id && !t.revoked)
          .map((t) => ({ id: t.id, name: t.name, last_used_at: t.lastUsedAt, created_at: t.createdAt })),
      );
    }),
    route('GET', '/me', 'token', 'agent-general', (ctx) => {
      const user = me(ctx);
      ok(ctx, {
        ...userView(user),
        about_me: user.aboutMe ?? null,
        created_at: user.createdAt,
        preferences: user.preferences,
        wallet_balance: user.walletUsd,
      });
    }),
    route('GET', '/api-keys', 'token', 'agent-general', (ctx) => {
      // Listed keys are masked; the full key is shown once, when it is created.
      ok(
        ctx,
        me(ctx).apiKeys.map((k) => keyView(k, false)),
      );
    }),
    route('POST', '/api-keys', 'token', 'agent-general', (ctx) => {
      const name = str(ctx, 'name');
      if (!name) throw validationError({ name: 'The name field is required.' });
      if (name.length > 100)
        throw validationError({ name: 'The name may not be greater than 100 characters.' });
      const key = accounts.addApiKey(me(ctx), name, str(ctx, 'notes') || null);
      ok(ctx, { ...keyView(key, true), message: 'Store this key now: it will not be shown again.' }, 201);
    }),
    route('GET', '/api-keys/(\\d+)', 'token', 'agent-general', (ctx, [id = '']) => {
      ok(ctx, keyView(ownKey(me(ctx), id), false));
    }),
    route('DELETE', '/api-keys/(\\d+)', 'token', 'agent-general', (ctx, [id = '']) => {
      const user = me(ctx);
      const key = ownKey(user, id);
      user.apiKeys.splice(user.apiKeys.indexOf(key), 1);
      ok(ctx, { message: 'API key deleted.', id: key.id });
    }),
    route('GET', '/usage/summary', 'token', 'agent-general', (ctx) => {
      const user = me(ctx);
      const t = new Date(now());
      const month = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1);
      const used = user.usage.filter((u) => u.at >= month);
      ok(ctx, {
        period: { start: new Date(month).toISOString(), end: t.toISOString() },
        requests: used.reduce((n, u) => n + u.requests, 0),
        cost_usd: roundCents(used.reduce((n, u) => n + u.costUsd, 0)),
        limits: { plan: user.subscriptions.length ? 'subscription' : 'pay_as_you_go', concurrency: 5 },
        wallet: { balance: user.walletUsd, currency: 'USD' },
      });
    }),
    route('GET', '/usage/products', 'token', 'agent-general', (ctx) => {
      const byProduct = new Map<string, { product: string; used: number; cost_usd: number }>();
      for (const u of me(ctx).usage) {
        const row = byProduct.get(u.product) ?? { product: u.product, used: 0, cost_usd: 0 };
        row.used += u.requests;
        row.cost_usd = roundCents(row.cost_usd + u.costUsd);
        byProduct.set(u.product, row);
      }
      // Pay-as-you-go has no plan limit: remaining is bounded by the wallet, not a count.
      ok(
        ctx,
        [...byProduct.values()].map((r) => ({ ...r, plan_limit: null, remaining: null })),
      );
    }),
    route('GET', '/usage/history', 'token', 'agent-general', (ctx) => {
      const problems: Record<string, string> = {};
      const from = dateParam(ctx, 'from', problems);
      const to = dateParam(ctx, 'to', problems);
      const limitRaw = ctx.query.get('limit');
      const limit = limitRaw === null ? 100 : Number(limitRaw);
      if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
        problems.limit = 'The limit must be an integer between 1 and 200.';
      }
      if (from !== undefined && to !== undefined && from > to)
        problems.to = 'The to must be a date after or equal to from.';
      if (Object.keys(problems).length) throw validationError(problems);
      const rows = me(ctx)
        .usage.filter((u) => (from === undefined || u.at >= from) && (to === undefined || u.at < to + DAY_MS))
        .slice(-limit)
        .reverse()
        .map((u) => ({
          date: new Date(u.at).toISOString(),
          product: u.product,
          requests: u.requests,
          cost_usd: u.costUsd,
        }));
      ok(ctx, rows);
    }),
    route('GET', '/wallet/balance', 'token', 'agent-general', (ctx) => {
      ok(ctx, { balance: me(ctx).walletUsd, currency: 'USD' });
    }),
    route('GET', '/subscriptions', 'token', 'agent-general', (ctx) => {
      // Documented: "List user subscriptions (addon, enterprise, normal)", grouped by kind.
      const subs = me(ctx).subscriptions;
      ok(ctx, {
        addon: subs.filter((s) => s.kind === 'addon'),
        enterprise: subs.filter((s) => s.kind === 'enterprise'),
        normal: subs.filter((s) => s.kind !== 'addon' && s.kind !== 'enterprise'),
      });
    }),
  ];
}

const DAY_MS = 24 * 60 * 60 * 1000;

export function str(ctx: ModelslabExchange, field: string): string {
  const value = ctx.body[field];
  if (value !== undefined && value !== null && typeof value !== 'string') {
    throw validationError({ [field]: `The ${field} must be a string.` });
  }
  return typeof value === 'string' ? value.trim() : '';
}

function tokenExpiry(ctx: ModelslabExchange, problems: Record<string, string>): TokenExpiry {
  const raw = ctx.body['token_expiry'];
  if (raw === undefined) return '1_month';
  if (typeof raw === 'string' && (TOKEN_EXPIRIES as readonly string[]).includes(raw))
    return raw as TokenExpiry;
  problems.token_expiry = `The selected token expiry is invalid (use ${TOKEN_EXPIRIES.join(', ')}).`;
  return '1_month';
}

function dateParam(
  ctx: ModelslabExchange,
  name: string,
  problems: Record<string, string>,
): number | undefined {
  const raw = ctx.query.get(name);
  if (raw === null || raw === '') return undefined;
  const at = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? Date.parse(`${raw}T00:00:00Z`) : NaN;
  if (Number.isNaN(at)) problems[name] = `The ${name} is not a valid date (YYYY-MM-DD).`;
  return at;
}

export function ownKey(user: MlUser, id: string) {
  const key = user.apiKeys.find((k) => String(k.id) === id);
  if (!key) throw new ApiError(404, 'not_found', `API key ${id} not found.`);
  return key;
}

function defaultKey(user: MlUser): string | null {
  return user.apiKeys[0]?.key ?? null;
}

function userView(user: MlUser) {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    username: user.username,
    verified: user.verified,
  };
}

function tokenView(token: MlToken) {
  return {
    access_token: token.value,
    token_type: 'Bearer',
    token_expiry: token.expiry,
    expires_at: token.expiresMs === null ? null : new Date(token.expiresMs).toISOString(),
  };
}

export function keyView(
  key: { id: number; name: string; key: string; notes: string | null; createdAt: string },
  full: boolean,
) {
  return {
    id: key.id,
    name: key.name,
    key: full ? key.key : `${key.key.slice(0, 4)}…${key.key.slice(-4)}`,
    notes: key.notes,
    created_at: key.createdAt,
  };
}
