/** Shapes of the Agents API answers (`data` of the envelope), as far as the docs and notes pin them down. */

export type TokenExpiry = '1_week' | '1_month' | '3_months' | 'never';
export const TOKEN_EXPIRIES: readonly TokenExpiry[] = ['1_week', '1_month', '3_months', 'never'];

export type Limiter = 'agent-auth' | 'agent-billing' | 'agent-general';

export interface AgentUser {
  id: number;
  name?: string;
  email: string;
  username?: string;
  verified?: boolean;
}

/** What login, verify-email and refresh hand back. */
export interface TokenGrant {
  access_token: string;
  token_type?: string;
  token_expiry?: string;
  /** ISO-8601; null for `never`. */
  expires_at?: string | null;
  user?: AgentUser;
  /** The default generation key (login, verify-email); null when the account has none. */
  api_key?: string | null;
  message?: string;
}

export interface SignupResult {
  message?: string;
  user?: AgentUser;
  /** Only the sandbox sends this: the code the real service would email. */
  sandbox_verification_code?: string | null;
}

export interface Profile extends AgentUser {
  created_at?: string;
  wallet_balance?: number;
  preferences?: Record<string, unknown>;
}

export interface ApiKeyInfo {
  id: number;
  name: string;
  /** Full only in the answer that created it. */
  key: string;
  notes?: string | null;
  created_at?: string;
}

export interface WalletBalance {
  balance: number;
  currency: string;
}

export interface UsageHistoryQuery {
  from?: string;
  to?: string;
  limit?: number;
}
