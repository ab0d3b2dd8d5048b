import { mkdtemp, readdir, readFile, rm, stat, writeFile, chmod, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CREDENTIAL_ENV, Keychain, openCredentials, type KeychainLike } from '../../src/credentials/index.js';
import { loadConfig } from '../../src/config.js';
import { ConfigurationError } from '../../src/errors.js';
import { storedProviders } from '../../src/stored-providers.js';

const KEY = 'pm_test_abcdef0123456789';
const posix = process.platform !== 'win32';

let root: string;
let home: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'atelier-cred-'));
  home = join(root, 'home', 'atelier-mcp');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const config = (credentialStore: 'auto' | 'keychain' | 'file' | 'memory', sandbox = false) => ({
  home,
  credentialStore,
  sandbox,
});

/** An in-memory keychain that works, or fails like a headless machine without a Secret Service. */
function fakeKeychain(state: 'available' | 'unavailable' | 'hanging') {
  const items = new Map<string, string>();
  const calls: string[] = [];
  const reason = 'DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time';
  const answer = <T>(value: T) => {
    if (state === 'hanging') return new Promise<never>(() => {});
    return Promise.resolve(
      state === 'available' ? { ok: true as const, value } : { ok: false as const, reason },
    );
  };
  const keychain: KeychainLike = {
    label: 'fake keychain',
    get(account) {
      calls.push(`get ${account}`);
      return answer(items.get(account) ?? null);
    },
    set(account, value) {
      calls.push(`set ${account}`);
      if (state === 'available') items.set(account, value);
      return answer(undefined);
    },
    delete(account) {
      calls.push(`delete ${account}`);
      return answer(items.delete(account));
    },
  };
  return { keychain, items, calls, reason };
}

describe('env', () => {
  it('an env var wins over every store, trimmed, and where names the variable', async () => {
    const creds = openCredentials(config('memory'), {
      env: { PIXELMUSE_API_KEY: `  ${KEY}\n` },
      memory: { pixelmuse_api_key: 'pm_test_from_memory' },
    });
    expect(await creds.get('pixelmuse_api_key')).toEqual({
      value: KEY,
      source: 'env',
      where: 'env PIXELMUSE_API_KEY',
    });
    expect(await creds.get('modelslab_api_key')).toBeUndefined();
  });

  it('an empty or blank env var does not count', async () => {
    const creds = openCredentials(config('memory'), {
      env: { PIXELMUSE_API_KEY: '   ' },
      memory: { pixelmuse_api_key: 'pm_test_from_memory' },
    });
    expect((await creds.get('pixelmuse_api_key'))?.source).toBe('memory');
  });

  it('maps every credential to its env twin', () => {
    expect(CREDENTIAL_ENV).toEqual({
      pixelmuse_api_key: 'PIXELMUSE_API_KEY',
      modelslab_api_key: 'MODELSLAB_API_KEY',
      modelslab_token: 'MODELSLAB_TOKEN',
      modelslab_token_expires_at: 'MODELSLAB_TOKEN_EXPIRES_AT',
      modelslab_token_expiry: 'MODELSLAB_TOKEN_EXPIRY',
    });
  });

  it('remove never lists env, and the env value stays', async () => {
    const creds = openCredentials(config('memory'), { env: { MODELSLAB_TOKEN: 'tok' } });
    expect(await creds.remove('modelslab_token')).toEqual([]);
    expect((await creds.get('modelslab_token'))?.source).toBe('env');
  });
});

describe('memory store', () => {
  it('is seeded from options, saves, removes and never touches the disk', async () => {
    const creds = openCredentials(config('memory', true), {
      env: {},
      memory: { modelslab_api_key: 'ml_seed' },
    });
    expect(await creds.get('modelslab_api_key')).toEqual({
      value: 'ml_seed',
      source: 'memory',
      where: 'memory (sandbox)',
    });
    expect(await creds.save('pixelmuse_api_key', ` ${KEY} `)).toEqual({
      source: 'memory',
      where: 'memory (sandbox)',
    });
    expect((await creds.get('pixelmuse_api_key'))?.value).toBe(KEY);
    expect(await creds.remove('pixelmuse_api_key')).toEqual(['memory']);
    expect(await creds.remove('pixelmuse_api_key')).toEqual([]);
    expect(await creds.get('pixelmuse_api_key')).toBeUndefined();
    await expect(stat(root + '/home')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await creds.report()).toEqual({
      mode: 'memory',
      keychain: 'not used',
      file: join(home, 'credentials.json'),
    });
  });

  it('refuses to save an empty value', async () => {
    const creds = openCredentials(config('memory'), { env: {} });
    await expect(creds.save('pixelmuse_api_key', '  \n')).rejects.toThrow(/empty/);
  });
});

describe('file store', () => {
  const file = () => join(home, 'credentials.json');

  it('round-trips through <home>/credentials.json', async () => {
    const creds = openCredentials(config('file'), { env: {} });
    expect(await creds.get('pixelmuse_api_key')).toBeUndefined();
    expect(await creds.save('pixelmuse_api_key', KEY)).toEqual({ source: 'file', where: `file ${file()}` });
    await creds.save('modelslab_token', 'tok_1');
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual({
      pixelmuse_api_key: KEY,
      modelslab_token: 'tok_1',
    });

    // A fresh instance (a later process) finds it.
    const later = openCredentials(config('file'), { env: {} });
    expect(await later.get('pixelmuse_api_key')).toEqual({
      value: KEY,
      source: 'file',
      where: `file ${file()}`,
    });
    expect(await later.report()).toEqual({ mode: 'file', keychain: 'not used', file: file() });
  });

  it.skipIf(!posix)('creates the directory 0700 and the file 0600', async () => {
    const creds = openCredentials(config('file'), { env: {} });
    await creds.save('pixelmuse_api_key', KEY);
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
  });

  it.skipIf(!posix)('tightens a file that was left world-readable', async () => {
    await mkdir(home, { recursive: true });
    await writeFile(file(), JSON.stringify({ modelslab_api_key: 'ml_old' }));
    await chmod(file(), 0o644);
    const creds = openCredentials(config('file'), { env: {} });
    await creds.save('pixelmuse_api_key', KEY);
    expect((await stat(file())).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual({
      modelslab_api_key: 'ml_old',
      pixelmuse_api_key: KEY,
    });
  });

  it('writes atomically: no temp files are left behind, even with concurrent saves', async () => {
    const creds = openCredentials(config('file'), { env: {} });
    await Promise.all([
      creds.save('pixelmuse_api_key', KEY),
      creds.save('modelslab_api_key', 'ml_1'),
      creds.save('modelslab_token', 'tok_1'),
    ]);
    expect((await readdir(home)).sort()).toEqual(['credentials.json', 'stored-providers.json']);
    expect(Object.keys(JSON.parse(await readFile(file(), 'utf8'))).sort()).toEqual([
      'modelslab_api_key',
      'modelslab_token',
      'pixelmuse_api_key',
    ]);
  });

  it('a corrupt file is a ConfigurationError that names the path but not the content', async () => {
    await mkdir(home, { recursive: true });
    const content = `{"pixelmuse_api_key": "${KEY}" oops`;
    await writeFile(file(), content);
    const creds = openCredentials(config('file'), { env: {} });
    const err = await creds.get('pixelmuse_api_key').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigurationError);
    const error = err as ConfigurationError;
    const text = `${error.message}\n${error.facts.join('\n')}\n${error.next}`;
    expect(text).toContain(file());
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('oops');
    // Saving over it must not silently throw the other keys away either.
    await expect(creds.save('modelslab_token', 'tok')).rejects.toBeInstanceOf(ConfigurationError);
    expect(await readFile(file(), 'utf8')).toBe(content);
  });

  it('reads a file that starts with a UTF-8 byte order mark (Notepad, PowerShell)', async () => {
    await mkdir(home, { recursive: true });
    await writeFile(file(), `\uFEFF${JSON.stringify({ pixelmuse_api_key: KEY })}`);
    const creds = openCredentials(config('file'), { env: {} });
    expect((await creds.get('pixelmuse_api_key'))?.value).toBe(KEY);
  });

  it('a JSON file of the wrong shape is corrupt too', async () => {
    await mkdir(home, { recursive: true });
    await writeFile(file(), JSON.stringify({ pixelmuse_api_key: 42 }));
    const creds = openCredentials(config('file'), { env: {} });
    await expect(creds.get('pixelmuse_api_key')).rejects.toThrow(file());
  });

  it('remove reports the stores it removed from', async () => {
    const creds = openCredentials(config('file'), { env: {} });
    await creds.save('pixelmuse_api_key', KEY);
    await creds.save('modelslab_token', 'tok_1');
    expect(await creds.remove('pixelmuse_api_key')).toEqual(['file']);
    expect(await creds.remove('pixelmuse_api_key')).toEqual([]);
    expect(await creds.get('pixelmuse_api_key')).toBeUndefined();
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual({ modelslab_token: 'tok_1' });
  });

  it('removing from a missing file creates nothing', async () => {
    const creds = openCredentials(config('file'), { env: {} });
    expect(await creds.remove('pixelmuse_api_key')).toEqual([]);
    await expect(stat(home)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('auto mode', () => {
  const file = () => join(home, 'credentials.json');

  it('saves to an available keychain and not to the file', async () => {
    const fake = fakeKeychain('available');
    const creds = openCredentials(config('auto'), { env: {}, keychain: fake.keychain });
    expect(await creds.save('pixelmuse_api_key', KEY)).toEqual({
      source: 'keychain',
      where: 'fake keychain',
    });
    expect(fake.items.get('pixelmuse_api_key')).toBe(KEY);
    await expect(stat(file())).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await creds.get('pixelmuse_api_key')).toEqual({
      value: KEY,
      source: 'keychain',
      where: 'fake keychain',
    });
    expect(await creds.report()).toEqual({ mode: 'auto', keychain: 'available', file: file() });
    expect(await creds.remove('pixelmuse_api_key')).toEqual(['keychain']);
    expect(fake.items.size).toBe(0);
  });

  it('falls back to the file when the keychain is unavailable, and finds the key there later', async () => {
    const down = fakeKeychain('unavailable');
    const creds = openCredentials(config('auto'), { env: {}, keychain: down.keychain });
    expect(await creds.save('pixelmuse_api_key', KEY)).toEqual({
      source: 'file',
      where: `file ${file()}`,
      keychainUnavailable: down.reason,
    });
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual({ pixelmuse_api_key: KEY });
    expect(await creds.get('pixelmuse_api_key')).toMatchObject({ value: KEY, source: 'file' });
    expect(await creds.report()).toEqual({
      mode: 'auto',
      keychain: 'unavailable',
      keychainReason: down.reason,
      file: file(),
    });

    // Later the keychain is back (empty): the key saved during the outage is still found in the file.
    const up = fakeKeychain('available');
    const later = openCredentials(config('auto'), { env: {}, keychain: up.keychain });
    expect(await later.get('pixelmuse_api_key')).toEqual({
      value: KEY,
      source: 'file',
      where: `file ${file()}`,
    });
    expect(up.calls).toContain('get pixelmuse_api_key');

    // Saving again moves it to the keychain and takes the plain-text copy out of the file.
    expect((await later.save('pixelmuse_api_key', KEY)).source).toBe('keychain');
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual({});
  });

  it('remove takes the key out of both stores', async () => {
    await mkdir(home, { recursive: true });
    await writeFile(file(), JSON.stringify({ modelslab_token: 'tok_file' }));
    const fake = fakeKeychain('available');
    fake.items.set('modelslab_token', 'tok_keychain');
    const creds = openCredentials(config('auto'), { env: {}, keychain: fake.keychain });
    expect(await creds.remove('modelslab_token')).toEqual(['keychain', 'file']);
    expect(await creds.get('modelslab_token')).toBeUndefined();
  });

  it('gives up on a hanging keychain after keychainTimeoutMs, then answers at once (latch)', async () => {
    await mkdir(home, { recursive: true });
    await writeFile(file(), JSON.stringify({ pixelmuse_api_key: KEY }));
    const hang = fakeKeychain('hanging');
    const creds = openCredentials(config('auto'), {
      env: {},
      keychain: hang.keychain,
      keychainTimeoutMs: 100,
    });

    expect(await creds.get('pixelmuse_api_key')).toMatchObject({ value: KEY, source: 'file' });
    const saved = await creds.save('modelslab_token', 'tok_1');
    expect(saved.source).toBe('file');
    expect(saved.keychainUnavailable).toMatch(/did not answer in 100 ms/);
    // The latch means the hanging keychain was called once, not again (no timings: the machine is noisy).
    expect(hang.calls).toEqual(['get pixelmuse_api_key']);
  });

  it('a keychain that throws instead of answering counts as unavailable', async () => {
    const throwing: KeychainLike = {
      get: () => Promise.reject(new Error('Secret Service: no result found')),
      set: () => {
        throw new Error('Secret Service: no result found');
      },
      delete: () => Promise.reject(new Error('Secret Service: no result found')),
    };
    const creds = openCredentials(config('auto'), { env: {}, keychain: throwing });
    const saved = await creds.save('pixelmuse_api_key', KEY);
    expect(saved).toMatchObject({ source: 'file', keychainUnavailable: 'Secret Service: no result found' });
  });
});

describe('keychain mode', () => {
  it('uses the keychain only', async () => {
    const fake = fakeKeychain('available');
    const creds = openCredentials(config('keychain'), { env: {}, keychain: fake.keychain });
    await mkdir(home, { recursive: true });
    await writeFile(join(home, 'credentials.json'), JSON.stringify({ modelslab_token: 'tok_file' }));
    expect(await creds.get('modelslab_token')).toBeUndefined();
    expect((await creds.save('modelslab_token', 'tok_kc')).source).toBe('keychain');
    expect(await creds.get('modelslab_token')).toMatchObject({ value: 'tok_kc', source: 'keychain' });
    expect(await creds.remove('modelslab_token')).toEqual(['keychain']);
  });

  it('with the keychain unavailable: get is undefined and save is a ConfigurationError with the way out', async () => {
    const down = fakeKeychain('unavailable');
    const creds = openCredentials(config('keychain'), { env: {}, keychain: down.keychain });
    expect(await creds.get('pixelmuse_api_key')).toBeUndefined();
    const err = await creds.save('pixelmuse_api_key', KEY).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigurationError);
    const error = err as ConfigurationError;
    expect(error.message).toContain(down.reason);
    expect(error.next).toContain('ATELIER_CREDENTIAL_STORE=file');
    expect(error.next).toContain('PIXELMUSE_API_KEY');
    expect(`${error.message}${error.next}${error.facts.join('')}`).not.toContain(KEY);
    // No silent fallback to the file in keychain mode.
    await expect(stat(join(home, 'credentials.json'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await creds.report()).toMatchObject({
      mode: 'keychain',
      keychain: 'unavailable',
      keychainReason: down.reason,
    });
    await expect(creds.remove('pixelmuse_api_key')).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('Keychain guard', () => {
  it('tries a failed keychain again after the retry delay, not on every call and not never', async () => {
    let clock = 0;
    let up = false;
    const calls: string[] = [];
    const flaky: KeychainLike = {
      label: 'flaky',
      get: async (account) => {
        calls.push(account);
        return up ? { ok: true, value: 'tok' } : { ok: false, reason: 'no Secret Service' };
      },
      set: async () => ({ ok: true, value: undefined }),
      delete: async () => ({ ok: true, value: false }),
    };
    const kc = new Keychain({ inner: flaky, retryAfterMs: 60_000, now: () => clock });
    expect(await kc.get('a')).toEqual({ ok: false, reason: 'no Secret Service' });
    up = true;
    clock = 59_999;
    expect(await kc.get('b')).toEqual({ ok: false, reason: 'no Secret Service' });
    expect(calls).toEqual(['a']);
    clock = 60_000;
    expect(await kc.get('c')).toEqual({ ok: true, value: 'tok' });
    expect(await kc.get('d')).toEqual({ ok: true, value: 'tok' });
    expect(calls).toEqual(['a', 'c', 'd']);
  });

  it('starts no new call while a timed-out one is stuck, and opens as soon as that one answers', async () => {
    let clock = 0;
    let release: (v: { ok: true; value: string | null }) => void = () => {};
    const calls: string[] = [];
    const locked: KeychainLike = {
      label: 'locked',
      get: (account) => {
        calls.push(account);
        return calls.length === 1
          ? new Promise((resolve) => (release = resolve))
          : Promise.resolve({ ok: true, value: 'tok' });
      },
      set: async () => ({ ok: true, value: undefined }),
      delete: async () => ({ ok: true, value: false }),
    };
    const kc = new Keychain({ inner: locked, timeoutMs: 50, retryAfterMs: 1000, now: () => clock });
    expect(await kc.get('a')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/did not answer in 50 ms/),
    });
    clock = 10_000; // long past the retry delay, but the first call still holds its thread
    expect(await kc.get('b')).toMatchObject({ ok: false });
    expect(calls).toEqual(['a']);
    release({ ok: true, value: null }); // the user unlocked the keyring: the stuck call answers
    await new Promise((r) => setImmediate(r));
    expect(await kc.get('c')).toEqual({ ok: true, value: 'tok' });
    expect(calls).toEqual(['a', 'c']);
  });

  it('scrubs the secret from a failure reason', async () => {
    const leaky: KeychainLike = {
      get: () => Promise.resolve({ ok: true, value: null }),
      set: (_account, value) => Promise.resolve({ ok: false, reason: `refused ${value}` }),
      delete: () => Promise.resolve({ ok: true, value: false }),
    };
    const kc = new Keychain({ inner: leaky });
    expect(await kc.set('pixelmuse_api_key', KEY)).toEqual({ ok: false, reason: 'refused ***' });
    expect(kc.unavailableReason).toBe('refused ***');
  });

  it('labels the real keychain by platform and service', () => {
    expect(new Keychain().label).toMatch(/^OS keychain \(.+, service "atelier-mcp"\)$/);
  });
});

describe('the note that ModelsLab is stored (the train toolset default)', () => {
  const trainOn = () => loadConfig({}, { ATELIER_HOME: home }, '/tmp').toolsets.includes('train');

  it('is written when a ModelsLab key or token reaches a lasting store, and removed with the last of them', async () => {
    const creds = openCredentials(config('file'), { env: {} });
    await creds.save('pixelmuse_api_key', KEY);
    expect(trainOn()).toBe(false);
    await creds.save('modelslab_token', '12|tokenvalue0123456789');
    await creds.save('modelslab_api_key', 'mlkey0123456789abcdef');
    expect(storedProviders(home)).toEqual(new Set(['modelslab']));
    expect(trainOn()).toBe(true);
    await creds.remove('modelslab_token');
    expect(trainOn()).toBe(true);
    await creds.remove('modelslab_api_key');
    expect(trainOn()).toBe(false);
    // The note holds no secret.
    expect(await readFile(join(home, 'stored-providers.json'), 'utf8')).toBe('{}\n');
  });

  it('is not written for the memory store, and an env key does not keep it', async () => {
    await openCredentials(config('memory'), { env: {} }).save('modelslab_api_key', 'mlkey0123456789abcdef');
    expect(trainOn()).toBe(false);
    const creds = openCredentials(config('file'), { env: { MODELSLAB_API_KEY: 'from-env-0123456789' } });
    await creds.save('modelslab_api_key', 'mlkey0123456789abcdef');
    await creds.remove('modelslab_api_key');
    expect(storedProviders(home).has('modelslab')).toBe(false);
  });

  it('reads an unreadable or oversized note as none', async () => {
    await mkdir(home, { recursive: true });
    await writeFile(join(home, 'stored-providers.json'), 'not json');
    expect(trainOn()).toBe(false);
    await writeFile(
      join(home, 'stored-providers.json'),
      JSON.stringify({ modelslab: true, pad: 'x'.repeat(5000) }),
    );
    expect(trainOn()).toBe(false);
    await writeFile(join(home, 'stored-providers.json'), JSON.stringify({ modelslab: true }));
    expect(trainOn()).toBe(true);
  });
});
