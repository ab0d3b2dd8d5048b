/**
 * MPP payment settings (ATELIER_STRIPE_SECRET_KEY + ATELIER_MPP_PAYMENT_METHOD), read from env only and
 * never stored. Kept apart from the Stripe client so that reading them loads no HTTP code.
 */

import { holdSecret, mask } from '../redact.js';

export const MPP_SETUP_NEXT =
  'To pay per image with MPP, set ATELIER_STRIPE_SECRET_KEY (a restricted key rk_… allowed to create Shared ' +
  'Payment Tokens) and ATELIER_MPP_PAYMENT_METHOD (a saved card pm_…) in the MCP server env, then call again. ' +
  'Or pay with credits: run `npx atelier-mcp login pixelmuse` or set PIXELMUSE_API_KEY.';

/** What minting an SPT needs; read from env only, never stored. */
export interface SptSettings {
  secretKey: string;
  paymentMethod: string;
  apiBase: string;
}

/**
 * The MPP payment settings from env, or why they are unusable. A full secret key works but is more than
 * this needs: the warning says so once at start-up and in account_status.
 */
export function readSptSettings(
  env: Record<string, string | undefined>,
  apiBase: string,
): { settings?: SptSettings; problem?: string; warning?: string } {
  const secretKey = env.ATELIER_STRIPE_SECRET_KEY?.trim() || undefined;
  holdSecret(secretKey);
  const paymentMethod = env.ATELIER_MPP_PAYMENT_METHOD?.trim() || undefined;
  if (!secretKey && !paymentMethod) return {};
  if (!secretKey)
    return { problem: 'ATELIER_MPP_PAYMENT_METHOD is set but ATELIER_STRIPE_SECRET_KEY is not.' };
  if (!paymentMethod)
    return { problem: 'ATELIER_STRIPE_SECRET_KEY is set but ATELIER_MPP_PAYMENT_METHOD (pm_…) is not.' };
  if (!/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/.test(secretKey))
    return { problem: 'ATELIER_STRIPE_SECRET_KEY is not a Stripe secret or restricted key (rk_… / sk_…).' };
  if (!/^pm_[A-Za-z0-9_]+$/.test(paymentMethod))
    return { problem: 'ATELIER_MPP_PAYMENT_METHOD is not a PaymentMethod id (pm_…).' };
  return {
    settings: { secretKey, paymentMethod, apiBase },
    warning: secretKey.startsWith('sk_')
      ? 'ATELIER_STRIPE_SECRET_KEY is a full secret key (sk_…); a restricted key (rk_…) limited to Shared Payment Tokens is safer.'
      : undefined,
  };
}

/** One line per fact for account_status: configured or not, masked, and what to do. */
export function describeMpp(mpp: { settings?: SptSettings; problem?: string; warning?: string }): string[] {
  if (!mpp.settings)
    return [
      `- MPP pay-per-image: not configured${mpp.problem ? ` (${mpp.problem})` : ''}`,
      `- Next: ${MPP_SETUP_NEXT}`,
    ];
  return [
    `- MPP pay-per-image: configured (Stripe key ${mask(mpp.settings.secretKey)}, ` +
      `card ${mpp.settings.paymentMethod}); generate_image with payment "mpp" pays per image in USD`,
    ...(mpp.warning ? [`- Warning: ${mpp.warning}`] : []),
  ];
}
