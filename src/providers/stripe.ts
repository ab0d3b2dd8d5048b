import { ConfigurationError, ProviderError } from '../errors.js';
import { HttpClient, type HttpClientOptions, type ParsedError } from '../http/client.js';
import type { Logger } from '../log.js';
import { holdSecret } from '../redact.js';
import { VERSION } from '../version.js';
import type { SptSettings } from './mpp-settings.js';
import type { PaymentOffer } from './pixelmuse/mpp.js';

/** Shared Payment Tokens are a preview API: Stripe wants the preview version named (as mppx sends it). */
export const STRIPE_PREVIEW_VERSION = '2026-07-29.preview';

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
    holdSecret(id);
    if (typeof id !== 'string' || !id.startsWith('spt_')) {
      throw new ConfigurationError('Stripe answered without a Shared Payment Token id.', {
        next: 'Check that the Stripe account is enrolled in the Shared Payment Tokens preview.',
      });
    }
    return id;
  }
}

// ---------- cards ----------
// Card data never reaches a provider: a card becomes a PaymentMethod (`pm_…`) with the publishable key the
// provider hands out, and only the id, brand and last four digits are kept. Nothing here logs or returns
// the number or the CVC.

export interface CardInput {
  number: string;
  exp_month: number;
  exp_year: number;
  cvc: string;
}

/** All that is kept of a card. */
export interface TokenizedCard {
  id: string;
  brand: string;
  last4: string;
}

export interface StripeClientOptions {
  baseUrl: string;
  log: Logger;
  http?: Partial<HttpClientOptions>;
}

const ANOTHER_CARD =
  'Ask the human for another card and call modelslab_add_payment_method again, or call ' +
  "modelslab_create_payment_link so they pay on Stripe's own page.";
const CHECK_DETAILS = 'Ask the human to check the card details and call modelslab_add_payment_method again.';

/** Stripe's card error codes, said plainly. Stripe's own message follows as a fact. */
const CARD_ERRORS: Record<string, { what: string; next: string }> = {
  card_declined: { what: 'The card was declined.', next: ANOTHER_CARD },
  expired_card: { what: 'The card has expired.', next: ANOTHER_CARD },
  incorrect_number: { what: 'The card number is incorrect.', next: CHECK_DETAILS },
  invalid_number: { what: 'The card number is not a valid card number.', next: CHECK_DETAILS },
  invalid_expiry_month: { what: 'The expiry month is invalid.', next: CHECK_DETAILS },
  invalid_expiry_year: { what: 'The expiry year is invalid (or in the past).', next: CHECK_DETAILS },
  invalid_cvc: { what: 'The security code (CVC) is invalid.', next: CHECK_DETAILS },
  incorrect_cvc: { what: 'The security code (CVC) is incorrect.', next: CHECK_DETAILS },
  processing_error: {
    what: 'Stripe could not process the card this time.',
    next: 'Retry in a minute; if it keeps failing, use another card.',
  },
};

export class StripeClient {
  private readonly http: HttpClient;

  constructor(options: StripeClientOptions) {
    this.http = new HttpClient({
      provider: 'stripe',
      baseUrl: options.baseUrl,
      userAgent: `atelier-mcp/${VERSION}`,
      log: options.log,
      parseError: parseStripeError,
      ...options.http,
    });
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** Tokenize a card with a publishable key (`pk_…`), as Stripe.js would in a browser. */
  async createCardPaymentMethod(
    publishableKey: string,
    card: CardInput,
    signal?: AbortSignal,
  ): Promise<TokenizedCard> {
    let res;
    try {
      res = await this.http.request<Record<string, unknown>>({
        method: 'POST',
        path: '/v1/payment_methods',
        authorization: `Bearer ${publishableKey}`,
        form: {
          type: 'card',
          'card[number]': card.number.replace(/[\s-]/g, ''),
          'card[exp_month]': String(card.exp_month),
          'card[exp_year]': String(card.exp_year),
          'card[cvc]': card.cvc,
        },
        signal,
      });
    } catch (error) {
      throw explainCardError(error);
    }
    const body = res.body ?? {};
    const details = body.card as { brand?: unknown; last4?: unknown } | undefined;
    if (typeof body.id !== 'string' || !body.id.startsWith('pm_')) {
      throw new ProviderError({
        provider: 'stripe',
        status: res.status,
        code: 'unexpected_response',
        message: 'Stripe answered without a PaymentMethod id.',
        requestId: res.requestId,
      });
    }
    return {
      id: body.id,
      brand: typeof details?.brand === 'string' ? details.brand : 'card',
      last4: typeof details?.last4 === 'string' ? details.last4 : '????',
    };
  }
}

function explainCardError(error: unknown): unknown {
  if (!(error instanceof ProviderError)) return error;
  const known = error.code ? CARD_ERRORS[error.code] : undefined;
  const decline = (error.body as { error?: { decline_code?: unknown } } | undefined)?.error?.decline_code;
  if (known) {
    return new ProviderError({
      provider: 'stripe',
      status: error.status,
      code: error.code,
      requestId: error.requestId,
      message: known.what,
      facts: [
        ...(typeof decline === 'string' ? [`Decline code: ${decline}.`] : []),
        ...(error.message && error.message !== known.what
          ? [`Stripe said: ${error.message.slice(0, 300)}`]
          : []),
        'Nothing was charged and no card was saved.',
      ],
      next: known.next,
      body: error.body,
    });
  }
  if (error.status === 401) {
    error.next =
      'Retry: the publishable key is fetched from ModelsLab again on every call. If it persists, check ' +
      'STRIPE_API_BASE (unset it for the real Stripe).';
  }
  return error;
}
