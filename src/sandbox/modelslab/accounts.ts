import { randomBytes } from 'node:crypto';
import { ApiError } from '../core/exchange.js';

/**
 * The ModelsLab account state every part of the emulator shares: users, Bearer tokens (Agents API),
 * API keys (generation APIs), the USD wallet and usage. Routes of other modules (generation, billing)
 * read and change it only through these methods, so the rules (expiry, revocation, no negative balance)
 * live in one place.
 */

export const TOKEN_EXPIRIES = ['1_week', '1_month', '3_months', 'never'] as const;
export type TokenExpiry = (typeof TOKEN_EXPIRIES)[number];

const DAY_MS = 24 * 60 * 60 * 1000;
const EXPIRY_MS: Record<TokenExpiry, number | null> = {
  '1_week': 7 * DAY_MS,
  '1_month': 30 * DAY_MS,
  '3_months': 90 * DAY_MS,
  never: null,
};

export interface MlApiKey {
  id: number;
  name: string;
  key: string;
  notes: string | null;
  createdAt: string;
}

export interface MlToken {
  id: number;
  /** `<id>|<40 random chars>`, the Sanctum personal access token format. */
  value: string;
  userId: number;
  name: string;
  expiry: TokenExpiry;
  /** Epoch ms; null when it never expires. */
  expiresMs: number | null;
  revoked: boolean;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface MlUsage {
  at: number;
  product: string;
  requests: number;
  costUsd: number;
}

export interface MlWalletEntry {
  id: number;
  type: 'credit' | 'debit';
  amountUsd: number;
  /** What the money was for: "generation", "wallet_fund", "sandbox_seed". */
  usecase: string;
  source: string;
  at: number;
}

export interface MlUser {
  id: number;
  name: string;
  email: string;
  username: string;
  /** PATCH /me `about_me`; unset until the user writes one. */
  aboutMe?: string;
  password: string;
  verified: boolean;
  /** The token the verification email carries; null once used. */
  verificationCode: string | null;
  createdAt: string;
  walletUsd: number;
  wallet: MlWalletEntry[];
  apiKeys: MlApiKey[];
  usage: MlUsage[];
  /** Subscriptions as GET /subscriptions shows them; billing routes add to it. */
  subscriptions: Array<Record<string, unknown>>;
  preferences: {
    nsfw_content: boolean;
    wallet_notification_enabled: boolean;
    wallet_notification_threshold: number;
  };
}

/** Why a Bearer token was refused; the answer is the same 401 for each, the tests tell them apart. */
export type TokenRefusal = 'missing' | 'unknown' | 'expired' | 'revoked';

const alnum = (length: number): string => {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += chars[b % chars.length];
  return out;
};

/** ModelsLab keys are long opaque alphanumeric strings with no prefix. */
export const newApiKey = (): string => alnum(60);

export class Accounts {
  readonly users: MlUser[] = [];
  readonly tokens: MlToken[] = [];
  private nextId = 1;

  constructor(private readonly now: () => number) {}

  private id(): number {
    return this.nextId++;
  }

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  byEmail(email: string): MlUser | undefined {
    const wanted = email.trim().toLowerCase();
    return this.users.find((u) => u.email.toLowerCase() === wanted);
  }

  byId(id: number): MlUser | undefined {
    return this.users.find((u) => u.id === id);
  }

  /** The owner of a generation API key (the v6/v7 `key` field). */
  byApiKey(key: string): MlUser | undefined {
    return this.users.find((u) => u.apiKeys.some((k) => k.key === key));
  }

  createUser(init: { email: string; password: string; name: string; verified?: boolean }): MlUser {
    const id = this.id();
    const user: MlUser = {
      id,
      name: init.name,
      email: init.email.trim(),
      username: `${init.email.split('@')[0]?.replace(/[^a-z0-9]/gi, '') || 'user'}${id}`,
      password: init.password,
      verified: init.verified ?? false,
      verificationCode: init.verified ? null : alnum(40),
      createdAt: this.iso(),
      walletUsd: 0,
      wallet: [],
      apiKeys: [],
      usage: [],
      subscriptions: [],
      preferences: {
        nsfw_content: false,
        wallet_notification_enabled: false,
        wallet_notification_threshold: 5,
      },
    };
    if (init.verified) this.addApiKey(user, 'Default');
    this.users.push(user);
    return user;
  }

  verify(code: string): MlUser | undefined {
    const user = this.users.find((u) => u.verificationCode !== null && u.verificationCode === code);
    if (!user) return undefined;
    user.verified = true;
    user.verificationCode = null;
    if (user.apiKeys.length === 0) this.addApiKey(user, 'Default');
    return user;
  }

  addApiKey(user: MlUser, name: string, notes: string | null = null, key = newApiKey()): MlApiKey {
    const apiKey = { id: this.id(), name, key, notes, createdAt: this.iso() };
    user.apiKeys.push(apiKey);
    return apiKey;
  }

  issueToken(user: MlUser, expiry: TokenExpiry, name: string, value?: string): MlToken {
    const id = this.id();
    const lifetime = EXPIRY_MS[expiry];
    const token: MlToken = {
      id,
      value: value ?? `${id}|${alnum(40)}`,
      userId: user.id,
      name,
      expiry,
      expiresMs: lifetime === null ? null : this.now() + lifetime,
      revoked: false,
      createdAt: this.iso(),
      lastUsedAt: null,
    };
    this.tokens.push(token);
    return token;
  }

  /** The token and its user, or why it is refused. Marks the token used. */
  authenticate(value: string | undefined): { token: MlToken; user: MlUser } | TokenRefusal {
    if (!value) return 'missing';
    const token = this.tokens.find((t) => t.value === value);
    const user = token && this.byId(token.userId);
    if (!token || !user) return 'unknown';
    if (token.revoked) return 'revoked';
    if (token.expiresMs !== null && this.now() >= token.expiresMs) return 'expired';
    token.lastUsedAt = this.iso();
    return { token, user };
  }

  revokeAll(user: MlUser): number {
    let count = 0;
    for (const t of this.tokens) {
      if (t.userId === user.id && !t.revoked) {
        t.revoked = true;
        count += 1;
      }
    }
    return count;
  }

  /** Add money (a funding, a refund). */
  credit(user: MlUser, amountUsd: number, usecase: string, source = 'sandbox'): MlWalletEntry {
    user.walletUsd = roundCents(user.walletUsd + amountUsd);
    return this.entry(user, 'credit', amountUsd, usecase, source);
  }

  /**
   * Take money for a use (a generation). Refuses with the 402 a generation route should answer when the
   * balance is short; nothing is taken then.
   */
  debit(user: MlUser, amountUsd: number, usecase: string, product = 'imagen'): MlWalletEntry {
    if (user.walletUsd + 1e-9 < amountUsd) {
      throw new ApiError(
        402,
        'insufficient_balance',
        'Insufficient wallet balance.',
        {},
        {
          balance: user.walletUsd,
          required: amountUsd,
        },
      );
    }
    user.walletUsd = roundCents(user.walletUsd - amountUsd);
    user.usage.push({ at: this.now(), product, requests: 1, costUsd: amountUsd });
    return this.entry(user, 'debit', amountUsd, usecase, 'wallet');
  }

  private entry(
    user: MlUser,
    type: MlWalletEntry['type'],
    amountUsd: number,
    usecase: string,
    source: string,
  ): MlWalletEntry {
    const entry = { id: this.id(), type, amountUsd, usecase, source, at: this.now() };
    user.wallet.push(entry);
    return entry;
  }
}

export function roundCents(usd: number): number {
  return Math.round(usd * 100) / 100;
}
