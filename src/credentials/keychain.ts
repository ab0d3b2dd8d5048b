import { randomBytes } from 'node:crypto';
import type { AsyncEntry } from '@napi-rs/keyring';

/** The shape every keychain call answers with: it never throws, it says why it could not. */
export type KeychainResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** What the credential layer needs from a keychain; tests inject fakes of this. */
export interface KeychainLike {
  /** How `where` describes the keychain, e.g. 'OS keychain (Secret Service, service "atelier-mcp")'. */
  readonly label?: string;
  get(account: string): Promise<KeychainResult<string | null>>;
  set(account: string, value: string): Promise<KeychainResult<void>>;
  /** `value` is true when something was deleted, false when nothing was stored. */
  delete(account: string): Promise<KeychainResult<boolean>>;
}

export const KEYCHAIN_SERVICE = 'atelier-mcp';
export const KEYCHAIN_TIMEOUT_MS = 3000;

const STORE_NAME: Partial<Record<NodeJS.Platform, string>> = {
  linux: 'Secret Service',
  darwin: 'macOS Keychain',
  win32: 'Windows Credential Manager',
};

export function keychainLabel(service: string, platform: NodeJS.Platform = process.platform): string {
  return `OS keychain (${STORE_NAME[platform] ?? 'system credential store'}, service "${service}")`;
}

type KeyringModule = typeof import('@napi-rs/keyring');
let keyringModule: Promise<KeyringModule> | undefined;

// Loaded on first use: the native binding costs startup time, and a server that never touches the
// keychain (env keys, file store, sandbox) should not pay for it or fail on a platform without a binding.
async function loadKeyring(): Promise<KeyringModule> {
  keyringModule ??= import('@napi-rs/keyring');
  try {
    return await keyringModule;
  } catch (err) {
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? err.message) : String(err);
    throw new Error(
      `the keychain library @napi-rs/keyring could not load on ${process.platform}-${process.arch}: ${message}`,
    );
  }
}

export interface KeychainOptions {
  /** Secret Service "service" attribute (Keychain service, Credential Manager target prefix). */
  service?: string;
  /** Each call is abandoned after this long; a locked keyring with an unanswered prompt never answers. */
  timeoutMs?: number;
  /** Another keychain to guard with the timeout and latch instead of the native one (tests). */
  inner?: KeychainLike;
  /** After a failure, how long calls answer unavailable at once before one is tried again; default 60 s. */
  retryAfterMs?: number;
  now?: () => number;
}

/** A keychain that failed is tried again this long after, unless a call it never answered is still stuck. */
export const KEYCHAIN_RETRY_MS = 60_000;

/**
 * The OS keychain through @napi-rs/keyring, with a timeout on every call and a latch: after a failure every
 * call answers unavailable at once, until `retryAfterMs` has passed; then one call tries again. A stuck
 * native call holds a libuv worker thread and cannot be cancelled, so while one is still pending no new
 * call starts; when it finally answers (the keyring was unlocked), the latch opens at once.
 */
export class Keychain implements KeychainLike {
  readonly service: string;
  readonly label: string;
  readonly timeoutMs: number;
  private readonly inner: KeychainLike | undefined;
  private readonly retryAfterMs: number;
  private readonly now: () => number;
  private unavailable: string | undefined;
  private unavailableSince = 0;
  /** Calls abandoned at the timeout that have not settled yet. */
  private stuck = 0;

  constructor(options: KeychainOptions = {}) {
    this.service = options.service ?? KEYCHAIN_SERVICE;
    this.timeoutMs = options.timeoutMs ?? KEYCHAIN_TIMEOUT_MS;
    this.inner = options.inner;
    this.label = options.inner?.label ?? keychainLabel(this.service);
    this.retryAfterMs = options.retryAfterMs ?? KEYCHAIN_RETRY_MS;
    this.now = options.now ?? Date.now;
  }

  /** Why the keychain was given up on, once it has been. */
  get unavailableReason(): string | undefined {
    return this.unavailable;
  }

  get(account: string): Promise<KeychainResult<string | null>> {
    return this.run(() =>
      this.inner ? this.inner.get(account) : this.native(account, (e) => e.getPassword()),
    );
  }

  set(account: string, value: string): Promise<KeychainResult<void>> {
    return this.run(async () => {
      if (this.inner) return this.inner.set(account, value);
      // setPassword resolves to null at run time although its type says void.
      const result = await this.native(account, (e) => e.setPassword(value));
      return result.ok ? { ok: true, value: undefined } : result;
    }, value);
  }

  delete(account: string): Promise<KeychainResult<boolean>> {
    return this.run(() =>
      this.inner ? this.inner.delete(account) : this.native(account, (e) => e.deletePassword()),
    );
  }

  private async native<T>(
    account: string,
    op: (entry: AsyncEntry) => Promise<T>,
  ): Promise<KeychainResult<T>> {
    const { AsyncEntry } = await loadKeyring();
    // Pin Linux to the Secret Service: unpinned, the library silently falls back to the kernel keyring,
    // which forgets everything at logout. The constructor throws at once when there is no D-Bus session.
    const options =
      process.platform === 'linux' ? { linux: { store: 'secret-service' as const } } : undefined;
    const entry = new AsyncEntry(this.service, account, options);
    return { ok: true, value: await op(entry) };
  }

  private latched(): boolean {
    if (this.unavailable === undefined) return false;
    return this.stuck > 0 || this.now() - this.unavailableSince < this.retryAfterMs;
  }

  private async run<T>(call: () => Promise<KeychainResult<T>>, secret?: string): Promise<KeychainResult<T>> {
    if (this.latched()) return { ok: false, reason: this.unavailable as string };
    let timer: NodeJS.Timeout | undefined;
    let result: KeychainResult<T>;
    const pending = call();
    try {
      result = await Promise.race([
        pending,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            this.stuck += 1;
            // When the abandoned call finally settles, the thread is free again; an answer means the
            // keychain works now (say, the keyring was unlocked), so the latch opens.
            pending.then(
              (late) => {
                this.stuck -= 1;
                if (late.ok) this.unavailable = undefined;
              },
              () => {
                this.stuck -= 1;
              },
            );
            reject(
              new Error(
                `the OS keychain did not answer in ${this.timeoutMs} ms (a locked keyring waiting for an unlock prompt?)`,
              ),
            );
          }, this.timeoutMs);
          timer.unref();
        }),
      ]);
    } catch (err) {
      result = { ok: false, reason: err instanceof Error ? err.message : String(err) };
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (result.ok) {
      this.unavailable = undefined;
      return result;
    }
    // Library messages never should carry the value, but a reason ends up in errors and reports.
    const reason = secret ? result.reason.split(secret).join('***') : result.reason;
    this.unavailable = reason || 'the OS keychain failed without a reason';
    this.unavailableSince = this.now();
    return { ok: false, reason: this.unavailable };
  }
}

export const PROBE_ACCOUNT = 'atelier-mcp-probe';

/**
 * Whether the keychain can store and return a secret right now. A read alone is not enough: a locked or
 * never-created keyring answers "nothing stored" to reads and only fails on writes. The probe item is
 * deleted again.
 */
export async function probeKeychain(
  keychain: KeychainLike,
  account = PROBE_ACCOUNT,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const value = `probe-${randomBytes(8).toString('hex')}`;
  const set = await keychain.set(account, value);
  if (!set.ok) return set;
  const got = await keychain.get(account);
  const removed = await keychain.delete(account);
  if (!got.ok) return got;
  if (got.value !== value) {
    return {
      ok: false,
      reason: 'the OS keychain accepted a write but did not return it (is the keyring locked?)',
    };
  }
  if (!removed.ok) return removed;
  return { ok: true };
}
