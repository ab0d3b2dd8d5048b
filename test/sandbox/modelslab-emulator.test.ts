import { afterEach, describe, expect, it } from 'vitest';
import {
  SANDBOX_MODELSLAB_KEY,
  SANDBOX_MODELSLAB_TOKEN,
  startModelslabEmulator,
  startSandbox,
  type ModelslabEmulator,
  type ModelslabEmulatorOptions,
} from '../../src/sandbox/index.js';

let emulator: ModelslabEmulator;
afterEach(async () => emulator?.close());

interface Envelope<T = Record<string, unknown>> {
  data: T;
  error: { code: string; message: string; details: Record<string, string[]> } | null;
  meta: { request_id: string };
}

async function start(opts: ModelslabEmulatorOptions = {}) {
  emulator = await startModelslabEmulator(opts);
  return emulator;
}

async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: Envelope<T> }> {
  const res = await fetch(`${emulator.url}/api/agents/v1${path}`, {
    method,
    headers: {
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Envelope<T> };
}

describe('ModelsLab emulator: Agents API', () => {
  it('signs up, verifies headlessly with the emailed code, and hands out a token and a default key', async () => {
    await start();
    const signup = await call<{ sandbox_verification_code: string; user: { verified: boolean } }>(
      'POST',
      '/auth/signup',
      { body: { email: 'me@example.com', password: 'secret123', name: 'Me' } },
    );
    expect(signup.status).toBe(201);
    expect(signup.body.error).toBeNull();
    expect(signup.body.meta.request_id).toMatch(/^req_/);
    expect(signup.body.data.user.verified).toBe(false);
    const code = signup.body.data.sandbox_verification_code;

    const login = await call('POST', '/auth/login', {
      body: { email: 'me@example.com', password: 'secret123' },
    });
    expect([login.status, login.body.error?.code]).toEqual([403, 'email_not_verified']);

    const verified = await call<{ access_token: string; api_key: string; expires_at: string }>(
      'POST',
      '/auth/verify-email',
      { body: { verification_code: code } },
    );
    expect(verified.status).toBe(200);
    expect(verified.body.data.access_token).toMatch(/^\d+\|\w{40}$/);
    expect(verified.body.data.api_key).toMatch(/^\w{60}$/);
    expect(Date.parse(verified.body.data.expires_at)).toBeGreaterThan(Date.now() + 29 * 86_400_000);

    const again = await call('POST', '/auth/verify-email', { body: { verification_code: code } });
    expect([again.status, again.body.error?.code]).toEqual([422, 'validation_error']);

    const me = await call<{ email: string; wallet_balance: number }>('GET', '/me', {
      token: verified.body.data.access_token,
    });
    expect(me.body.data).toMatchObject({ email: 'me@example.com', wallet_balance: 0 });
  });

  it('refuses a bad, an expired and a revoked token with 401', async () => {
    let clock = Date.now();
    await start({ now: () => clock });
    expect((await call('GET', '/me', { token: 'nope' })).status).toBe(401);
    expect((await call('GET', '/me')).status).toBe(401);

    const login = await call<{ access_token: string }>('POST', '/auth/login', {
      body: { email: 'sandbox@atelier.test', password: 'sandbox-password', token_expiry: '1_week' },
    });
    const token = login.body.data.access_token;
    expect((await call('GET', '/me', { token })).status).toBe(200);
    clock += 8 * 86_400_000;
    const expired = await call('GET', '/me', { token });
    expect([expired.status, expired.body.error?.code]).toEqual([401, 'unauthenticated']);

    expect((await call('POST', '/auth/logout', { token: SANDBOX_MODELSLAB_TOKEN })).status).toBe(200);
    expect((await call('GET', '/me', { token: SANDBOX_MODELSLAB_TOKEN })).status).toBe(401);
  });

  it('refresh issues a new token and revokes the old one', async () => {
    await start();
    const refreshed = await call<{ access_token: string; token_expiry: string }>('POST', '/auth/refresh', {
      token: SANDBOX_MODELSLAB_TOKEN,
      body: { token_expiry: '3_months' },
    });
    expect(refreshed.body.data.token_expiry).toBe('3_months');
    expect((await call('GET', '/me', { token: SANDBOX_MODELSLAB_TOKEN })).status).toBe(401);
    expect((await call('GET', '/me', { token: refreshed.body.data.access_token })).status).toBe(200);
  });

  it('answers 422 validation_error with per-field details', async () => {
    await start();
    const res = await call('POST', '/auth/signup', { body: { email: 'not-an-email', password: 'short' } });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'validation_error' });
    expect(res.body.error?.details).toEqual({
      email: ['The email must be a valid email address.'],
      password: ['The password must be at least 8 characters.'],
    });
  });

  it('counts the agent-auth limiter per IP+email and answers 429 with Retry-After past it', async () => {
    await start({ limits: { 'agent-auth': 2 } });
    const body = { email: 'x@example.com', password: 'wrong-password' };
    const first = await call('POST', '/auth/login', { body });
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect(Number(first.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    await call('POST', '/auth/login', { body });
    const limited = await call('POST', '/auth/login', { body });
    expect([limited.status, limited.body.error?.code]).toEqual([429, 'too_many_requests']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Another address has its own bucket.
    expect((await call('POST', '/auth/login', { body: { ...body, email: 'y@example.com' } })).status).toBe(
      401,
    );
  });

  it('manages API keys: the full key once, masked afterwards; delete', async () => {
    await start();
    const created = await call<{ id: number; key: string }>('POST', '/api-keys', {
      token: SANDBOX_MODELSLAB_TOKEN,
      body: { name: 'ci' },
    });
    expect(created.status).toBe(201);
    expect(created.body.data.key).toMatch(/^\w{60}$/);
    const listed = await call<Array<{ id: number; key: string }>>('GET', '/api-keys', {
      token: SANDBOX_MODELSLAB_TOKEN,
    });
    expect(listed.body.data).toHaveLength(2);
    expect(listed.body.data.every((k) => k.key.includes('…'))).toBe(true);
    expect(
      (await call('DELETE', `/api-keys/${created.body.data.id}`, { token: SANDBOX_MODELSLAB_TOKEN })).status,
    ).toBe(200);
    expect(
      (await call('DELETE', `/api-keys/${created.body.data.id}`, { token: SANDBOX_MODELSLAB_TOKEN })).status,
    ).toBe(404);
  });

  it('shares one account state: a debit by another module shows in the wallet and the usage', async () => {
    await start({ walletUsd: 10 });
    const user = emulator.accounts.byApiKey(SANDBOX_MODELSLAB_KEY)!;
    emulator.accounts.debit(user, 0.25, 'generation');
    expect(() => emulator.accounts.debit(user, 100, 'generation')).toThrow(/Insufficient/);
    const balance = await call<{ balance: number; currency: string }>('GET', '/wallet/balance', {
      token: SANDBOX_MODELSLAB_TOKEN,
    });
    expect(balance.body.data).toEqual({ balance: 9.75, currency: 'USD' });
    const history = await call<Array<{ cost_usd: number }>>('GET', '/usage/history?limit=5', {
      token: SANDBOX_MODELSLAB_TOKEN,
    });
    expect(history.body.data.map((r) => r.cost_usd)).toEqual([0.25]);
    const bad = await call('GET', '/usage/history?limit=500&from=yesterday', {
      token: SANDBOX_MODELSLAB_TOKEN,
    });
    expect(Object.keys(bad.body.error?.details ?? {})).toEqual(['from', 'limit']);
  });

  it('answers unknown routes with the envelope and generation paths with {status:"error"}', async () => {
    await start();
    expect((await call('GET', '/training')).body.error?.code).toBe('route_not_found');
    const res = await fetch(`${emulator.url}/api/v6/nothing`, { method: 'POST' });
    expect(await res.json()).toEqual({ status: 'error', message: 'No route for POST /api/v6/nothing.' });
  });

  it('startSandbox starts both emulators', async () => {
    const sandbox = await startSandbox();
    try {
      expect(sandbox.urls.modelslab).toBe(sandbox.modelslab.url);
      const res = await fetch(`${sandbox.urls.modelslab}/api/agents/v1/me`, {
        headers: { authorization: `Bearer ${SANDBOX_MODELSLAB_TOKEN}` },
      });
      expect(((await res.json()) as Envelope<{ email: string }>).data.email).toBe('sandbox@atelier.test');
    } finally {
      await sandbox.close();
    }
  });
});

/** POST a generation endpoint as the documents show it: JSON body, the key inside it. */
async function generation(path: string, body: Record<string, unknown>, init: RequestInit = {}) {
  const res = await fetch(`${emulator.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string>) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('ModelsLab emulator: generation, no kinder than the documents', () => {
  it('refuses a v6 width or height above the documented 1024 and charges nothing', async () => {
    await start();
    const before = emulator.accounts.byApiKey(SANDBOX_MODELSLAB_KEY)!.walletUsd;
    const res = await generation('/api/v6/images/text2img', {
      key: SANDBOX_MODELSLAB_KEY,
      model_id: 'flux',
      prompt: 'wide',
      width: '2048',
      height: '1024',
    });
    expect(res.body).toMatchObject({ status: 'error', message: expect.stringMatching(/width.*1024/) });
    expect(emulator.accounts.byApiKey(SANDBOX_MODELSLAB_KEY)!.walletUsd).toBe(before);
    const ok = await generation('/api/v6/images/text2img', {
      key: SANDBOX_MODELSLAB_KEY,
      model_id: 'flux',
      prompt: 'square',
      width: '1024',
      height: '1024',
    });
    expect(ok.body.status).not.toBe('error');
  });
});

describe('ModelsLab emulator: image-to-image input', () => {
  it('refuses a data: init_image without base64 (the documents type it as a URL), takes it with base64: true', async () => {
    await start();
    const image = 'data:image/png;base64,iVBORw0KGgo=';
    const bare = await generation('/api/v6/images/img2img', {
      key: SANDBOX_MODELSLAB_KEY,
      model_id: 'flux',
      prompt: 'variation',
      init_image: image,
    });
    expect(bare.body).toMatchObject({ status: 'error', message: expect.stringMatching(/init image/i) });
    const flagged = await generation('/api/v6/images/img2img', {
      key: SANDBOX_MODELSLAB_KEY,
      model_id: 'flux',
      prompt: 'variation',
      init_image: image,
      base64: true,
    });
    expect(flagged.body.status).not.toBe('error');
    const url = await generation('/api/v6/images/img2img', {
      key: SANDBOX_MODELSLAB_KEY,
      model_id: 'flux',
      prompt: 'variation',
      init_image: 'https://example.com/ref.png',
    });
    expect(url.body.status).not.toBe('error');
  });
});

describe('ModelsLab emulator: where the generation key goes', () => {
  it('takes the key in the JSON body of a POST only, not in the query, a key header or Bearer', async () => {
    await start();
    const body = { model_id: 'flux', prompt: 'where is the key' };
    const post = (url: string, headers: Record<string, string>, json: Record<string, unknown>) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(json),
      });
    const path = `${emulator.url}/api/v6/images/text2img`;
    for (const res of [
      await post(`${path}?key=${SANDBOX_MODELSLAB_KEY}`, {}, body),
      await post(path, { key: SANDBOX_MODELSLAB_KEY }, body),
      await post(path, { authorization: `Bearer ${SANDBOX_MODELSLAB_KEY}` }, body),
    ]) {
      expect(res.status).toBe(401);
    }
    expect((await post(path, {}, { ...body, key: SANDBOX_MODELSLAB_KEY })).status).toBe(200);
    const search = await fetch(`${emulator.url}/api/v6/model-search?key=${SANDBOX_MODELSLAB_KEY}`);
    expect(search.status).toBe(200);
  });
});
