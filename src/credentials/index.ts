import { join } from 'node:path';
import type { Config } from '../config.js';
import { ConfigurationError, UserInputError } from '../errors.js';
import { holdSecret } from '../redact.js';
import { CREDENTIAL_FILE, FileStore } from './file-store.js';
import { Keychain, probeKeychain, type KeychainLike } from './keychain.js';
import { replaceDurably } from '../spend/durable.js';
import { STORED_PROVIDERS_FILE, storedProviders, type StoredProvider } from '../stored-providers.js';

export { Keychain, probeKeychain, keychainLabel, KEYCHAIN_SERVICE } from './keychain.js';
export type { KeychainLike, KeychainResult } from './keychain.js';

/**
 * `modelslab_token_expires_at` and `modelslab_token_expiry` (the lifetime chosen at login, resent on refresh)
 * are not secret, but they live beside their token so the three move together.
 */
export type CredentialName =
  | 'pixelmuse_api_key'
  | 'modelslab_api_key'
  | 'modelslab_token'
  | 'modelslab_token_expires_at'
  | 'modelslab_token_expiry';
export const CREDENTIAL_NAMES: readonly CredentialName[] = [
  'pixelmuse_api_key',
  'modelslab_api_key',
  'modelslab_token',
  'modelslab_token_expires_at',
  'modelslab_token_expiry',
];

/** Either makes ModelsLab usable: the generation key, or the access token that fetches one. */
const MODELSLAB_CREDENTIALS: readonly CredentialName[] = ['modelslab_api_key', 'modelslab_token'];

export const CREDENTIAL_ENV: Record<CredentialName, string> = {
  pixelmuse_api_key: 'PIXELMUSE_API_KEY',
  modelslab_api_key: 'MODELSLAB_API_KEY',
  modelslab_token: 'MODELSLAB_TOKEN',
  modelslab_token_expires_at: 'MODELSLAB_TOKEN_EXPIRES_AT',
  modelslab_token_expiry: 'MODELSLAB_TOKEN_EXPIRY',
};

export type CredentialSource = 'env' | 'keychain' | 'file' | 'memory';

export interface ResolvedCredential {
  value: string;
  source: CredentialSource;
  /** Where it came from, without the secret: 'env PIXELMUSE_API_KEY', 'file /…/credentials.json'. */
  where: string;
}

export interface SaveResult {
  source: CredentialSource;
  where: string;
  /** Why the keychain was not used, when auto mode fell back to the file. */
  keychainUnavailable?: string;
}

export interface StoreReport {
  mode: 'auto' | 'keychain' | 'file' | 'memory';
  keychain: 'available' | 'unavailable' | 'not used';
  keychainReason?: string;
  /** Path of the file store, even when it is not used. */
  file: string;
}

export interface Credentials {
  get(name: CredentialName): Promise<ResolvedCredential | undefined>;
  save(name: CredentialName, value: string): Promise<SaveResult>;
  /** The stores the credential was removed from. An env var cannot be removed and is never listed. */
  remove(name: CredentialName): Promise<CredentialSource[]>;
  report(): Promise<StoreReport>;
}

export interface CredentialOptions {
  env?: Record<string, string | undefined>;
  /** A keychain to use instead of the OS one; it is still guarded by the timeout and the latch. */
  keychain?: KeychainLike;
  /** Seeds the memory store (sandbox, tests). */
  memory?: Partial<Record<CredentialName, string>>;
  keychainTimeoutMs?: number;
}

/**
 * The one place keys are read and written. An env var always wins; then the store chosen by
 * ATELIER_CREDENTIAL_STORE. Open it once per process: the keychain latch lives in the returned object.
 */
export function openCredentials(
  config: Pick<Config, 'home' | 'credentialStore' | 'sandbox'>,
  options: CredentialOptions = {},
): Credentials {
  const env = options.env ?? process.env;
  const mode = config.credentialStore;
  const file = new FileStore(join(config.home, CREDENTIAL_FILE));
  const fileWhere = `file ${file.path}`;
  const memory = new Map<CredentialName, string>();
  for (const [name, value] of Object.entries(options.memory ?? {}) as Array<
    [CredentialName, string | undefined]
  >) {
    if (value) memory.set(name, value);
  }
  const memoryWhere = config.sandbox ? 'memory (sandbox)' : 'memory';

  let keychainInstance: Keychain | undefined;
  const keychain = (): Keychain => {
    keychainInstance ??=
      options.keychain instanceof Keychain
        ? options.keychain
        : new Keychain({ inner: options.keychain, timeoutMs: options.keychainTimeoutMs });
    return keychainInstance;
  };

  const keychainMissing = (name: CredentialName, reason: string): ConfigurationError =>
    new ConfigurationError(`The OS keychain is unavailable: ${reason.replace(/\.$/, '')}.`, {
      facts: ['ATELIER_CREDENTIAL_STORE=keychain keeps keys in the OS keychain only.'],
      next:
        `Set ATELIER_CREDENTIAL_STORE=file to keep keys in ${file.path} (mode 0600), ` +
        `or set ${CREDENTIAL_ENV[name]} in the MCP client's env.`,
    });

  const fromKeychain = async (name: CredentialName): Promise<ResolvedCredential | undefined> => {
    const kc = keychain();
    const got = await kc.get(name);
    return got.ok && got.value ? { value: got.value, source: 'keychain', where: kc.label } : undefined;
  };

  const fromFile = async (name: CredentialName): Promise<ResolvedCredential | undefined> => {
    const value = await file.get(name);
    return value === undefined ? undefined : { value, source: 'file', where: fileWhere };
  };

  const lookUp = async (
    name: CredentialName,
    { env: withEnv = true } = {},
  ): Promise<ResolvedCredential | undefined> => {
    const fromEnv = withEnv ? env[CREDENTIAL_ENV[name]]?.trim() : undefined;
    if (fromEnv) return { value: fromEnv, source: 'env', where: `env ${CREDENTIAL_ENV[name]}` };
    switch (mode) {
      case 'memory': {
        const value = memory.get(name);
        return value === undefined ? undefined : { value, source: 'memory', where: memoryWhere };
      }
      case 'file':
        return fromFile(name);
      case 'keychain':
        return fromKeychain(name);
      case 'auto':
        // A key saved to the file while the keychain was down must still be found once it is back.
        return (await fromKeychain(name)) ?? fromFile(name);
    }
  };
  // Every key and token this process reads or stores is masked by value wherever it would leave (src/redact.ts).
  const isSecret = (name: CredentialName) =>
    name !== 'modelslab_token_expires_at' && name !== 'modelslab_token_expiry';

  const store = async (name: CredentialName, raw: string): Promise<SaveResult> => {
    if (isSecret(name)) holdSecret(raw);
    const value = raw.trim();
    if (value === '') {
      throw new UserInputError(`The value for ${name} is empty; nothing was saved.`, {
        next: `Paste the key again, or set ${CREDENTIAL_ENV[name]} in the MCP client's env.`,
      });
    }
    switch (mode) {
      case 'memory':
        memory.set(name, value);
        return { source: 'memory', where: memoryWhere };
      case 'file':
        await file.set(name, value);
        return { source: 'file', where: fileWhere };
      case 'keychain': {
        const kc = keychain();
        const set = await kc.set(name, value);
        if (!set.ok) throw keychainMissing(name, set.reason);
        return { source: 'keychain', where: kc.label };
      }
      case 'auto': {
        const kc = keychain();
        const set = await kc.set(name, value);
        if (set.ok) {
          // An older copy left in the file from a keychain outage should not linger in plain text.
          await file.delete(name).catch(() => false);
          return { source: 'keychain', where: kc.label };
        }
        await file.set(name, value);
        return { source: 'file', where: fileWhere, keychainUnavailable: set.reason };
      }
    }
  };

  const unstore = async (name: CredentialName): Promise<CredentialSource[]> => {
    const removed: CredentialSource[] = [];
    if (mode === 'memory') {
      if (memory.delete(name)) removed.push('memory');
      return removed;
    }
    if (mode === 'keychain' || mode === 'auto') {
      const deleted = await keychain().delete(name);
      if (!deleted.ok && mode === 'keychain') throw keychainMissing(name, deleted.reason);
      if (deleted.ok && deleted.value) removed.push('keychain');
    }
    if (mode === 'file' || mode === 'auto') {
      if (await file.delete(name)) removed.push('file');
    }
    return removed;
  };

  const note = (stored: boolean) =>
    // A note that cannot be written costs only the toolset default; the credential itself is stored.
    noteStored(config.home, 'modelslab', stored).catch(() => undefined);

  return {
    async get(name) {
      const found = await lookUp(name);
      if (found && isSecret(name)) holdSecret(found.value);
      return found;
    },

    async save(name, raw) {
      const saved = await store(name, raw);
      // ModelsLab in a lasting store turns the `train` toolset on at the next start (src/config.ts).
      if (saved.source !== 'memory' && MODELSLAB_CREDENTIALS.includes(name)) await note(true);
      return saved;
    },

    async remove(name) {
      const removed = await unstore(name);
      if (removed.length > 0 && MODELSLAB_CREDENTIALS.includes(name)) {
        const left = await Promise.all(MODELSLAB_CREDENTIALS.map((n) => lookUp(n, { env: false })));
        if (left.every((c) => c === undefined)) await note(false);
      }
      return removed;
    },

    async report() {
      if (mode === 'memory' || mode === 'file') return { mode, keychain: 'not used', file: file.path };
      const probe = await probeKeychain(keychain());
      return probe.ok
        ? { mode, keychain: 'available', file: file.path }
        : { mode, keychain: 'unavailable', keychainReason: probe.reason, file: file.path };
    },
  };
}

/** Keeps ATELIER_HOME/stored-providers.json (src/stored-providers.ts) in step with the lasting stores. */
async function noteStored(home: string, provider: StoredProvider, stored: boolean): Promise<void> {
  const now = storedProviders(home);
  if (now.has(provider) === stored) return;
  if (stored) now.add(provider);
  else now.delete(provider);
  const note = Object.fromEntries([...now].map((p) => [p, true]));
  await replaceDurably(join(home, STORED_PROVIDERS_FILE), `${JSON.stringify(note)}\n`);
}
