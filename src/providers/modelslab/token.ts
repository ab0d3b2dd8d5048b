import { CachedCredential } from '../../credentials/cached.js';
import type { Credentials, ResolvedCredential, SaveResult } from '../../credentials/index.js';
import type { Logger } from '../../log.js';
import { TOKEN_EXPIRIES, type TokenExpiry, type TokenGrant } from './types.js';

/** Refresh this long before expiry: a token must never lapse between two uses a day apart. */
export const REFRESH_BEFORE_MS = 24 * 60 * 60 * 1000;

export interface CurrentToken {
  value: string;
  /** Epoch ms; undefined when unknown (an env token without MODELSLAB_TOKEN_EXPIRES_AT), null for never. */
  expiresAt: number | null | undefined;
  source: ResolvedCredential['source'];
  where: string;
  /** The lifetime chosen at login (`3_months`…), resent on refresh; undefined when unknown. */
  tokenExpiry?: TokenExpiry;
}

/**
 * The Agents API token as a source, not a value: read through the credential stores (env first), refreshed
 * with /auth/refresh within a day of expiry (one refresh at a time; the new token is stored before anyone
 * uses it), and dropped from the cache on a 401.
 */
export class TokenSource {
  private readonly token: CachedCredential;
  private readonly expiry: CachedCredential;
  private readonly lifetime: CachedCredential;
  private refreshing: Promise<CurrentToken | undefined> | undefined;

  constructor(
    private readonly credentials: Credentials,
    private readonly refresher: (token: string, tokenExpiry: TokenExpiry | undefined) => Promise<TokenGrant>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.token = new CachedCredential(credentials, 'modelslab_token', now);
    this.expiry = new CachedCredential(credentials, 'modelslab_token_expires_at', now);
    this.lifetime = new CachedCredential(credentials, 'modelslab_token_expiry', now);
  }

  /** The stored token and its expiry, without refreshing. */
  async current(): Promise<CurrentToken | undefined> {
    const token = await this.token.get();
    if (!token) return undefined;
    const expiry = await this.expiry.get();
    const lifetime = asTokenExpiry((await this.lifetime.get())?.value);
    return {
      value: token.value,
      expiresAt: parseExpiry(expiry?.value),
      source: token.source,
      where: token.where,
      ...(lifetime ? { tokenExpiry: lifetime } : {}),
    };
  }

  /** A token fit to send: refreshed first when it is within a day of expiry. */
  async get(): Promise<string | undefined> {
    const current = await this.current();
    if (!current) return undefined;
    if (!this.refreshable(current) || !this.dueSoon(current)) return current.value;
    try {
      return (await this.refresh(current))?.value ?? current.value;
    } catch (error) {
      // Not expired yet: the old token still works; the next call tries again.
      if (current.expiresAt !== undefined && current.expiresAt !== null && current.expiresAt > this.now()) {
        this.log.warn(
          `modelslab: token refresh failed, using the current token until it expires: ${String(error)}`,
        );
        return current.value;
      }
      throw error;
    }
  }

  /**
   * The server refused `rejected` (401). Forget the cached copy; if the store now holds another token
   * (a login elsewhere), use that; otherwise try one refresh. Undefined: nothing more to try.
   */
  async rejected(rejected: string): Promise<string | undefined> {
    this.drop();
    const current = await this.current();
    if (!current) return undefined;
    if (current.value !== rejected) return current.value;
    if (!this.refreshable(current)) return undefined;
    try {
      return (await this.refresh(current))?.value;
    } catch {
      return undefined;
    }
  }

  /** Store a grant from login, verify-email or refresh: the token first, then its expiry. */
  async save(grant: TokenGrant): Promise<SaveResult> {
    const saved = await this.credentials.save('modelslab_token', grant.access_token);
    await this.credentials.save('modelslab_token_expires_at', grant.expires_at ?? 'never');
    this.token.set({ value: grant.access_token, source: saved.source, where: saved.where });
    this.expiry.set({ value: grant.expires_at ?? 'never', source: saved.source, where: saved.where });
    const lifetime = asTokenExpiry(grant.token_expiry);
    if (lifetime) {
      await this.credentials.save('modelslab_token_expiry', lifetime);
      this.lifetime.set({ value: lifetime, source: saved.source, where: saved.where });
    }
    return saved;
  }

  /** Forget the token everywhere it is stored (logout). */
  async clear(): Promise<void> {
    this.drop();
    await this.credentials.remove('modelslab_token');
    await this.credentials.remove('modelslab_token_expires_at');
    await this.credentials.remove('modelslab_token_expiry');
  }

  drop(): void {
    this.token.drop();
    this.expiry.drop();
    this.lifetime.drop();
  }

  private dueSoon(t: CurrentToken): boolean {
    return typeof t.expiresAt === 'number' && t.expiresAt - this.now() <= REFRESH_BEFORE_MS;
  }

  /** A token from the env cannot be replaced by us: refreshing it would revoke the one the env keeps. */
  private refreshable(t: CurrentToken): boolean {
    return t.source !== 'env';
  }

  private refresh(current: CurrentToken): Promise<CurrentToken | undefined> {
    this.refreshing ??= (async () => {
      try {
        // Without token_expiry ModelsLab issues a 1_month token: a 3_months login would shrink at its first refresh.
        const grant = await this.refresher(current.value, current.tokenExpiry);
        const saved = await this.save(grant);
        this.log.info(`modelslab: token refreshed; stored in ${saved.where}`);
        return {
          value: grant.access_token,
          expiresAt: parseExpiry(grant.expires_at ?? 'never'),
          source: saved.source,
          where: saved.where,
          ...(current.tokenExpiry ? { tokenExpiry: current.tokenExpiry } : {}),
        };
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }
}

function parseExpiry(raw: string | undefined): number | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'never') return null;
  const at = Date.parse(raw);
  return Number.isNaN(at) ? undefined : at;
}

function asTokenExpiry(raw: string | undefined): TokenExpiry | undefined {
  return (TOKEN_EXPIRIES as readonly string[]).includes(raw ?? '') ? (raw as TokenExpiry) : undefined;
}
