import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openCredentials } from '../../src/credentials/index.js';
import { SANDBOX_MODELSLAB_EMAIL, SANDBOX_MODELSLAB_TOKEN } from '../../src/sandbox/index.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

const harnesses: Harness[] = [];
const homes: string[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((x) => x.close()));
  await Promise.all(homes.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function start(options: Parameters<typeof startHarness>[0] = {}) {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}

/** A credential home on disk (file store) that outlives one server: a restart finds what was stored. */
async function fileHome() {
  const home = await mkdtemp(join(tmpdir(), 'atelier-ml-home-'));
  homes.push(home);
  return { home, credentialStore: 'file' as const };
}

const login = { email: SANDBOX_MODELSLAB_EMAIL, password: 'sandbox-password' };

/**
 * A new server process over the same credential store. Each harness has its own emulator, so the token the
 * first one issued is made known to the second one's upstream account too.
 */
async function restartWith(config: Awaited<ReturnType<typeof fileHome>>, token: string) {
  const next = await start({ modelslabCredentials: {}, config });
  next.modelslab.accounts.issueToken(
    next.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!,
    '1_month',
    'carried-over',
    token,
  );
  return next;
}
const refreshes = (h: Harness) =>
  h.modelslab.requests.filter((r) => r.path === '/api/agents/v1/auth/refresh');

describe('modelslab_login and modelslab_logout', () => {
  it('stores the token with its expiry and the key; a restarted server still finds them', async () => {
    const config = await fileHome();
    const first = await start({ modelslabCredentials: {}, config });
    const result = await first.call('modelslab_login', { ...login, token_expiry: '1_week' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toMatch(
      /- access token: stored in file .*credentials\.json \(expires \d{4}-\d\d-\d\d;/,
    );
    const stored = JSON.parse(await readFile(join(config.home, 'credentials.json'), 'utf8')) as Record<
      string,
      string
    >;
    const issued = first.modelslab.accounts.tokens.at(-1)!;
    expect(stored.modelslab_token).toBe(issued.value);
    expect(Date.parse(stored.modelslab_token_expires_at!)).toBe(issued.expiresMs);
    expect(textOf(result)).not.toContain(issued.value);

    // A new server process over the same store, against the same upstream account.
    const second = await restartWith(config, issued.value);
    const profile = await second.call('modelslab_profile');
    expect(profile.isError, textOf(profile)).toBeFalsy();
    expect(textOf(profile)).toContain(`<${SANDBOX_MODELSLAB_EMAIL}>`);
    expect(second.modelslab.requests.at(-1)?.headers.authorization).toBe(`Bearer ${issued.value}`);
  });

  it('refuses a wrong password with the provider code and a next step, storing nothing', async () => {
    const h = await start({ modelslabCredentials: {} });
    const result = await h.call('modelslab_login', { ...login, password: 'wrong-password' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^ModelsLab refused the request: invalid_credentials \(HTTP 401, request req_\w+\)\./,
    );
    expect(textOf(result)).toMatch(/Next: .*modelslab_login/);
    expect(textOf(result)).not.toContain('wrong-password');
    expect(textOf(await h.call('account_status'))).toMatch(/ModelsLab \(.*\):\n- not configured/);
  });

  it('logout revokes the token upstream and deletes it; the API key stays', async () => {
    const h = await start();
    const result = await h.call('modelslab_logout', {});
    expect(textOf(result)).toContain('Revoked the access token at ModelsLab.');
    expect(h.modelslab.accounts.tokens.find((t) => t.value === SANDBOX_MODELSLAB_TOKEN)?.revoked).toBe(true);
    const status = textOf(await h.call('account_status'));
    expect(status).toMatch(/- access token: none/);
    expect(status).toMatch(/- API key \(generation\): \w\w…/);
    const profile = await h.call('modelslab_profile');
    expect(textOf(profile)).toMatch(
      /^Not configured: No ModelsLab access token is stored\.\nNext: Call modelslab_login/,
    );
    expect(textOf(await h.call('modelslab_logout', {}))).toContain('nothing to log out of');
  });

  it('logout all revokes every token of the account', async () => {
    const h = await start();
    const user = h.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!;
    const other = h.modelslab.accounts.issueToken(user, '1_month', 'laptop');
    await h.call('modelslab_logout', { all: true });
    expect(other.revoked).toBe(true);
  });
});

describe('the ModelsLab token source', () => {
  it('refreshes a token within a day of expiry before using it, and stores the new one first', async () => {
    const config = await fileHome();
    const h = await start({ modelslabCredentials: {}, config });
    await h.call('modelslab_login', login);
    const old = h.modelslab.accounts.tokens.at(-1)!;
    // Stored expiry in 2 hours (the upstream token is still valid, as it would be near the end of its life).
    const store = openCredentials({ ...config, sandbox: false }, { env: {} });
    await store.save('modelslab_token_expires_at', new Date(Date.now() + 2 * 3600_000).toISOString());

    // A fresh server (no cache) makes the next call.
    const next = await restartWith(config, old.value);
    const profile = await next.call('modelslab_profile');
    expect(profile.isError, textOf(profile)).toBeFalsy();
    expect(refreshes(next)).toHaveLength(1);
    expect(refreshes(next)[0]!.headers.authorization).toBe(`Bearer ${old.value}`);
    const fresh = next.modelslab.accounts.tokens.at(-1)!;
    expect(fresh.value).not.toBe(old.value);
    expect(next.modelslab.requests.at(-1)?.headers.authorization).toBe(`Bearer ${fresh.value}`);
    expect((await store.get('modelslab_token'))?.value).toBe(fresh.value);
    expect(Date.parse((await store.get('modelslab_token_expires_at'))!.value)).toBe(fresh.expiresMs);
  });

  it('resends the token_expiry chosen at login on the automatic refresh, so a 3_months login stays 3_months', async () => {
    const config = await fileHome();
    const h = await start({ modelslabCredentials: {}, config });
    await h.call('modelslab_login', { ...login, token_expiry: '3_months' });
    const old = h.modelslab.accounts.tokens.at(-1)!;
    const store = openCredentials({ ...config, sandbox: false }, { env: {} });
    expect((await store.get('modelslab_token_expiry'))?.value).toBe('3_months');
    await store.save('modelslab_token_expires_at', new Date(Date.now() + 2 * 3600_000).toISOString());

    const next = await restartWith(config, old.value);
    expect((await next.call('modelslab_profile')).isError).toBeFalsy();
    expect(refreshes(next).map((r) => r.body)).toEqual([{ token_expiry: '3_months' }]);
    const fresh = next.modelslab.accounts.tokens.at(-1)!;
    expect(fresh.expiry).toBe('3_months');
    expect((await store.get('modelslab_token_expiry'))?.value).toBe('3_months');
  });

  it('refreshes once for concurrent calls', async () => {
    const config = await fileHome();
    const h = await start({ modelslabCredentials: {}, config });
    await h.call('modelslab_login', login);
    const store = openCredentials({ ...config, sandbox: false }, { env: {} });
    await store.save('modelslab_token_expires_at', new Date(Date.now() + 3600_000).toISOString());
    const next = await restartWith(config, h.modelslab.accounts.tokens.at(-1)!.value);
    const results = await Promise.all([
      next.call('modelslab_profile'),
      next.call('modelslab_usage', {}),
      next.call('modelslab_api_keys', {}),
    ]);
    expect(results.map((r) => r.isError ?? false)).toEqual([false, false, false]);
    expect(refreshes(next)).toHaveLength(1);
  });

  it('on a 401 drops the cached token and retries once with the one stored meanwhile (a login elsewhere)', async () => {
    const config = await fileHome();
    const a = await start({ modelslabCredentials: {}, config });
    await a.call('modelslab_login', login);
    expect((await a.call('modelslab_profile')).isError).toBeFalsy(); // token now cached in server A
    const first = a.modelslab.accounts.tokens.at(-1)!;
    // Another process (CLI login) logs in again, stores a new token, and the first one is revoked.
    const store = openCredentials({ ...config, sandbox: false }, { env: {} });
    const second = a.modelslab.accounts.issueToken(
      a.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!,
      '1_month',
      'cli',
    );
    await store.save('modelslab_token', second.value);
    first.revoked = true;

    const profile = await a.call('modelslab_profile');
    expect(profile.isError, textOf(profile)).toBeFalsy();
    const meCalls = a.modelslab.requests.filter((r) => r.path === '/api/agents/v1/me').slice(-2);
    expect(meCalls.map((r) => r.headers.authorization)).toEqual([
      `Bearer ${first.value}`,
      `Bearer ${second.value}`,
    ]);
    expect(refreshes(a)).toHaveLength(0);
  });

  it('on a 401 with nothing newer stored tries one refresh, then gives up with the next step', async () => {
    const h = await start();
    h.modelslab.accounts.tokens.find((t) => t.value === SANDBOX_MODELSLAB_TOKEN)!.revoked = true;
    const result = await h.call('modelslab_profile');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^ModelsLab refused the request: unauthenticated \(HTTP 401, request req_\w+\)\./,
    );
    expect(textOf(result)).toMatch(/Next: The token or key was rejected .*modelslab_login/);
    expect(refreshes(h)).toHaveLength(1);
  });

  it('never refreshes a token from the env (that would revoke the one the env keeps)', async () => {
    const h = await start({ modelslabCredentials: {} });
    const creds = openCredentials(
      { home: '/nonexistent', credentialStore: 'memory', sandbox: false },
      {
        env: {
          MODELSLAB_TOKEN: SANDBOX_MODELSLAB_TOKEN,
          MODELSLAB_TOKEN_EXPIRES_AT: new Date(Date.now() + 60_000).toISOString(),
        },
      },
    );
    const { ModelslabClient } = await import('../../src/providers/modelslab/agents.js');
    const { silentLogger } = await import('../../src/log.js');
    const client = new ModelslabClient({ baseUrl: h.modelslab.url, credentials: creds, log: silentLogger });
    await expect(client.profile()).resolves.toMatchObject({ email: SANDBOX_MODELSLAB_EMAIL });
    expect(refreshes(h)).toHaveLength(0);
  });
});

describe('ModelsLab error classes through the tools', () => {
  it('403 email_not_verified names the verification tools', async () => {
    const h = await start({ modelslabCredentials: {} });
    await h.call('modelslab_signup', { email: 'new@example.com', password: 'long-enough' });
    const result = await h.call('modelslab_login', { email: 'new@example.com', password: 'long-enough' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^ModelsLab refused the request: email_not_verified \(HTTP 403, request req_\w+\)\./,
    );
  });

  it('a 503 on a read is retried, and one that persists says the provider is having trouble', async () => {
    const h = await start();
    h.modelslab.inject({ method: 'GET', path: '/api/agents/v1/me', status: 503, times: 1 });
    expect((await h.call('modelslab_profile')).isError).toBeFalsy();
    h.modelslab.inject({ method: 'GET', path: '/api/agents/v1/me', status: 503, times: 10 });
    const result = await h.call('modelslab_profile');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^ModelsLab failed: service_unavailable \(HTTP 503[\s\S]*Next: Retry in a minute; the provider is having trouble/,
    );
  });

  it('an answer without a token after login is an unexpected_response, and nothing is stored', async () => {
    const h = await start({ modelslabCredentials: {} });
    h.modelslab.inject({
      method: 'POST',
      path: '/api/agents/v1/auth/login',
      rewrite: () => ({ data: {}, error: null, meta: {} }),
    });
    const result = await h.call('modelslab_login', login);
    expect(textOf(result)).toMatch(/unexpected_response[\s\S]*ModelsLab answered without an access token/);
    expect(textOf(await h.call('account_status'))).toMatch(/ModelsLab \(.*\):\n- not configured/);
  });
});
