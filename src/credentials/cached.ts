import type { CredentialName, Credentials, ResolvedCredential } from './index.js';

/** A polling loop asks for the key every half second; the keychain needs asking only once a minute. */
export const CREDENTIAL_CACHE_MS = 60_000;

/**
 * One credential, read through the stores and kept for a minute. `drop()` forgets it at once: a provider
 * calls it on any 401, so a key that was replaced (or revoked) is read again on the next call.
 */
export class CachedCredential {
  private hit: { value: ResolvedCredential; at: number } | undefined;

  constructor(
    private readonly credentials: Credentials,
    readonly name: CredentialName,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = CREDENTIAL_CACHE_MS,
  ) {}

  async get(): Promise<ResolvedCredential | undefined> {
    if (this.hit && this.now() - this.hit.at < this.ttlMs) return this.hit.value;
    const value = await this.credentials.get(this.name);
    // A missing key is not cached: one stored by `atelier-mcp login` is picked up on the next call.
    this.hit = value === undefined ? undefined : { value, at: this.now() };
    return value;
  }

  /** Remember a value just saved, so the next call does not read the store again. */
  set(value: ResolvedCredential): void {
    this.hit = { value, at: this.now() };
  }

  drop(): void {
    this.hit = undefined;
  }
}
