/**
 * What the account-administration routes keep beside the accounts (teams, invoices' links, billing profile,
 * auto-funding, coupons, password resets), one per emulator. Tests read it as the upstream's ground truth.
 */

export interface TeamRow {
  id: number;
  ownerId: number;
  email: string;
  name: string | null;
  role: string;
  permissions: string[];
  status: 'pending' | 'accepted';
  /** The UUID the invitation email carries; the invitee accepts with it. */
  inviteId: string;
  invitedAt: string;
}

interface AutoFunding {
  auto_charge_amount: number;
  charge_threshold: number;
  payment_method_id: string;
  updated_at: string;
}

export interface AdminState {
  team: TeamRow[];
  /** Billing profile fields per user id (PUT /billing/info). */
  billingInfo: Map<number, Record<string, string | null>>;
  autoFunding: Map<number, AutoFunding>;
  /** Coupon codes each user redeemed. */
  redeemed: Map<number, Set<string>>;
  /** Password reset tokens (what the email would carry) to the user they reset, with their expiry. */
  resets: Map<string, { userId: number; expiresAt: number }>;
  /** Per invoice id, the unguessable part of its PDF link (Stripe's invoice links are bearer links too). */
  invoiceLinks: Map<string, string>;
}

export function newAdminState(): AdminState {
  return {
    team: [],
    billingInfo: new Map(),
    autoFunding: new Map(),
    redeemed: new Map(),
    resets: new Map(),
    invoiceLinks: new Map(),
  };
}
