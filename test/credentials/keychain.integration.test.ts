// The real OS keychain through @napi-rs/keyring. CI (CI=true) and KEYCHAIN_IT=1 require it: run them inside
// `dbus-run-session` with an unlocked gnome-keyring, as .ci/run does. Elsewhere the tests skip, saying why, when
// no keychain is reachable.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CREDENTIAL_NAMES,
  Keychain,
  KEYCHAIN_SERVICE,
  openCredentials,
  probeKeychain,
} from '../../src/credentials/index.js';
import { PROBE_ACCOUNT } from '../../src/credentials/keychain.js';
import { silentLogger } from '../../src/log.js';
import { ModelslabClient } from '../../src/providers/modelslab/agents.js';
import { SANDBOX_MODELSLAB_EMAIL, startModelslabEmulator } from '../../src/sandbox/index.js';

const required = process.env.CI === 'true' || process.env.KEYCHAIN_IT === '1';
const run = randomBytes(4).toString('hex');
// A service of its own per run, so a developer's real atelier-mcp keys are never touched.
const service = `atelier-mcp-test-${run}`;
const probe = await probeKeychain(new Keychain({ service }));
const unreachable = probe.ok ? undefined : probe.reason;
if (unreachable !== undefined && !required) {
  console.warn(`keychain integration tests skipped: ${unreachable} (set KEYCHAIN_IT=1 to require them)`);
}

/** `secret-tool lookup …`: the value, null when nothing matches, undefined when secret-tool is not installed. */
function lookup(svc: string, username: string): string | null | undefined {
  const result = spawnSync('secret-tool', ['lookup', 'service', svc, 'username', username], {
    encoding: 'utf8',
  });
  if (result.error) return undefined;
  return result.status === 0 ? result.stdout : null;
}
const hasSecretTool = process.platform === 'linux' && lookup('atelier-mcp-none', 'none') !== undefined;

describe('keychain requirement', () => {
  it.runIf(required)('the OS keychain is reachable (CI=true or KEYCHAIN_IT=1)', () => {
    expect(unreachable, `keychain probe failed: ${unreachable}`).toBeUndefined();
  });
});

describe.skipIf(unreachable !== undefined)('real OS keychain', () => {
  const homes: string[] = [];
  const newHome = async () => {
    const home = await mkdtemp(join(tmpdir(), 'atelier-kc-'));
    homes.push(home);
    return home;
  };
  const defaultAccount = `it-${run}`;

  afterAll(async () => {
    const cleanup = new Keychain({ service });
    for (const name of CREDENTIAL_NAMES) await cleanup.delete(name);
    await new Keychain().delete(defaultAccount);
    for (const home of homes) await rm(home, { recursive: true, force: true });
  });

  it('ModelsLab: login stores token, expiry and key in the Secret Service; a restart uses them; logout deletes', async () => {
    const emulator = await startModelslabEmulator();
    try {
      const home = await newHome();
      const open = () =>
        new ModelslabClient({
          baseUrl: emulator.url,
          log: silentLogger,
          credentials: openCredentials(
            { home, credentialStore: 'keychain', sandbox: false },
            { env: {}, keychain: new Keychain({ service }) },
          ),
        });
      const saved = await open().login({
        email: SANDBOX_MODELSLAB_EMAIL,
        password: 'sandbox-password',
        token_expiry: '1_week',
      });
      expect(saved.token.source).toBe('keychain');
      expect(saved.apiKey?.source).toBe('keychain');
      const issued = emulator.accounts.tokens.at(-1)!;
      if (hasSecretTool) {
        expect(lookup(service, 'modelslab_token')).toBe(issued.value);
        expect(Date.parse(lookup(service, 'modelslab_token_expires_at')!)).toBe(issued.expiresMs);
      }
      // Nothing in the file store: the keychain holds it all.
      await expect(stat(join(home, 'credentials.json'))).rejects.toMatchObject({ code: 'ENOENT' });

      const restarted = open();
      expect(await restarted.profile()).toMatchObject({ email: SANDBOX_MODELSLAB_EMAIL });
      expect(emulator.requests.at(-1)?.headers.authorization).toBe(`Bearer ${issued.value}`);
      expect((await restarted.tokens.current())?.expiresAt).toBe(issued.expiresMs);

      await restarted.logout(false);
      expect(issued.revoked).toBe(true);
      expect(await open().tokens.current()).toBeUndefined();
      if (hasSecretTool) expect(lookup(service, 'modelslab_token')).toBeNull();
    } finally {
      await emulator.close();
    }
  });

  it('keychain mode: save, get and remove round-trip through the Secret Service', async () => {
    const home = await newHome();
    const creds = openCredentials(
      { home, credentialStore: 'keychain', sandbox: false },
      { env: {}, keychain: new Keychain({ service }) },
    );
    const key = `pm_test_${randomBytes(12).toString('hex')}`;
    // The probe above left nothing behind.
    if (hasSecretTool) expect(lookup(service, PROBE_ACCOUNT)).toBeNull();

    const saved = await creds.save('pixelmuse_api_key', key);
    expect(saved.source).toBe('keychain');
    expect(saved.where).toContain(`service "${service}"`);
    expect(await creds.get('pixelmuse_api_key')).toEqual({
      value: key,
      source: 'keychain',
      where: saved.where,
    });
    if (hasSecretTool) expect(lookup(service, 'pixelmuse_api_key')).toBe(key);

    // A second instance (another process, in effect) reads the same item.
    const again = openCredentials(
      { home, credentialStore: 'keychain', sandbox: false },
      { env: {}, keychain: new Keychain({ service }) },
    );
    expect((await again.get('pixelmuse_api_key'))?.value).toBe(key);

    expect(await creds.remove('pixelmuse_api_key')).toEqual(['keychain']);
    expect(await creds.get('pixelmuse_api_key')).toBeUndefined();
    if (hasSecretTool) expect(lookup(service, 'pixelmuse_api_key')).toBeNull();
    expect(await creds.remove('pixelmuse_api_key')).toEqual([]);
  });

  it('auto mode saves to the keychain, not the file', async () => {
    const home = await newHome();
    const creds = openCredentials(
      { home, credentialStore: 'auto', sandbox: false },
      { env: {}, keychain: new Keychain({ service }) },
    );
    const token = `tok_${randomBytes(12).toString('hex')}`;
    const saved = await creds.save('modelslab_token', token);
    expect(saved).toEqual({ source: 'keychain', where: expect.stringContaining(service) as unknown });
    expect(saved.keychainUnavailable).toBeUndefined();
    await expect(stat(join(home, 'credentials.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await creds.get('modelslab_token')).toMatchObject({ value: token, source: 'keychain' });
    if (hasSecretTool) expect(lookup(service, 'modelslab_token')).toBe(token);
    expect(await creds.report()).toEqual({
      mode: 'auto',
      keychain: 'available',
      file: join(home, 'credentials.json'),
    });
    expect(await creds.remove('modelslab_token')).toEqual(['keychain']);
  });

  it(`the default Keychain stores under service "${KEYCHAIN_SERVICE}", attribute username = account`, async () => {
    const keychain = new Keychain();
    const value = `v_${randomBytes(8).toString('hex')}`;
    expect(await keychain.set(defaultAccount, value)).toEqual({ ok: true, value: undefined });
    expect(await keychain.get(defaultAccount)).toEqual({ ok: true, value });
    if (hasSecretTool) expect(lookup(KEYCHAIN_SERVICE, defaultAccount)).toBe(value);
    expect(await keychain.delete(defaultAccount)).toEqual({ ok: true, value: true });
    expect(await keychain.get(defaultAccount)).toEqual({ ok: true, value: null });
  });
});
