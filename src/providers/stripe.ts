import { ConfigurationError } from '../errors.js';
import { HttpClient, type ParsedError } from '../http/client.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import type { PaymentOffer } from './pixelmuse/mpp.js';

/** Shared Payment Tokens are a preview API: Stripe wants the preview version named (as mppx sends it). */
export const STRIPE_PREVIEW_VERSION = '2026-07-29.preview';

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

/** Test keys cannot issue tokens to third parties; Stripe's test helper grants one on the same account. */
export function isTestKey(secretKey: string): boolean {
  return /^(sk|rk)_test_/.test(secretKey);
}

/** `{error:{type,code,message,decline_code}}`, Stripe's one error shape. */
export function parseStripeError(status: number, body: unknown): ParsedError {
  const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
  if (!error || typeof error !== 'object') return { message: `HTTP ${status}` };
  const code = [error.code, error.decline_code, error.type].find((v) => typeof v === 'string') as
    string | undefined;
  return { code, message: typeof error.message === 'string' ? error.message : undefined };
}

export class SptMinter {
  private readonly http: HttpClient;

  constructor(
    private readonly settings: SptSettings,
    log: Logger,
    http: Partial<ConstructorParameters<typeof HttpClient>[0]> = {},
  ) {
    this.http = new HttpClient({
      provider: 'stripe',
      baseUrl: settings.apiBase,
      userAgent: `atelier-mcp/${VERSION}`,
      log,
      parseError: parseStripeError,
      ...http,
    });
  }

  /**
   * One SPT per challenge, limited to exactly its amount, currency, expiry and seller. The idempotency key
   * is the challenge id: a retry after a lost answer gets the same token back instead of a second one.
   */
  async mint(offer: PaymentOffer, signal?: AbortSignal): Promise<string> {
    const test = isTestKey(this.settings.secretKey);
    const form: Record<string, string> = {
      payment_method: this.settings.paymentMethod,
      'usage_limits[currency]': offer.currency,
      'usage_limits[max_amount]': String(offer.amountMinor),
      'usage_limits[expires_at]': String(Math.floor(offer.expiresAt.getTime() / 1000)),
      // Live tokens are issued to the seller's business profile; the test helper takes a plain network id.
      [test ? 'seller_details[network_id]' : 'seller_details[network_business_profile]']:
        offer.charge.methodDetails.networkId,
    };
    const res = await this.http.request<{ id?: unknown }>({
      method: 'POST',
      path: test ? '/v1/test_helpers/shared_payment/granted_tokens' : '/v1/shared_payment/issued_tokens',
      form,
      authorization: `Bearer ${this.settings.secretKey}`,
      headers: { 'stripe-version': STRIPE_PREVIEW_VERSION },
      idempotencyKey: `atelier-spt-${offer.challenge.id}`.slice(0, 255),
      signal,
    });
    const id = res.body?.id;
    if (typeof id !== 'string' || !id.startsWith('spt_')) {
      throw new ConfigurationError('Stripe answered without a Shared Payment Token id.', {
        next: 'Check that the Stripe account is enrolled in the Shared Payment Tokens preview.',
      });
    }
    return id;
  }
}
