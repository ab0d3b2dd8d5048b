import { randomBytes } from 'node:crypto';

/**
 * Stripe's Shared Payment Tokens, both sides (notes/pixelmuse.md §3.6): the agent mints a token limited to
 * one amount, currency, expiry and seller; the seller confirms a PaymentIntent with it, once. Test payment
 * methods decide the outcome the way Stripe's do: pm_card_visa succeeds, pm_card_chargeDeclined declines,
 * pm_card_authenticationRequired needs 3-D Secure.
 */

export interface SharedPaymentToken {
  id: string;
  object: 'shared_payment.issued_token' | 'shared_payment.granted_token';
  payment_method: string;
  usage_limits: { currency: string; max_amount: number; expires_at: number };
  seller_details: { network_business_profile?: string; network_id?: string };
  status: 'active' | 'deactivated';
  deactivated_reason: 'consumed' | 'expired' | 'revoked' | null;
  created: number;
  livemode: false;
}

export interface SptPaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  currency: string;
  status: 'succeeded' | 'requires_action';
  shared_payment_granted_token: string;
  metadata: Record<string, string>;
  refunded: boolean;
}

export interface StripeAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface SptSettlement {
  /** The seller side: a confirmed PaymentIntent paid with the token (the call mppx's server makes). */
  confirm(input: {
    spt: string;
    amount: number;
    currency: string;
    /** The seller's network id: a token granted to another seller is refused. */
    networkId?: string;
    idempotencyKey?: string;
    metadata?: Record<string, string>;
  }): StripeAnswer;
  refund(paymentIntent: string): void;
}

export interface SptBook extends SptSettlement {
  readonly tokens: ReadonlyMap<string, SharedPaymentToken>;
  readonly paymentIntents: ReadonlyMap<string, SptPaymentIntent>;
  /** Answers the SPT routes of the Stripe API; undefined for any other route. */
  route(req: {
    method: string;
    path: string;
    headers: Record<string, string>;
    form: URLSearchParams;
  }): StripeAnswer | undefined;
}

const OUTCOMES: Record<string, 'succeeds' | 'declines' | 'requires_action'> = {
  pm_card_visa: 'succeeds',
  pm_card_mastercard: 'succeeds',
  pm_card_chargeDeclined: 'declines',
  pm_card_authenticationRequired: 'requires_action',
  pm_card_threeDSecure2Required: 'requires_action',
};

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function stripeError(
  status: number,
  type: string,
  message: string,
  extra: Record<string, string> = {},
): StripeAnswer {
  return { status, body: { error: { type, message, ...extra } } };
}

export function createSptBook(
  opts: {
    now?: () => number;
    /** Outcome of a payment method the table above does not know; default: unknown = resource_missing. */
    paymentMethodOutcome?: (id: string) => 'succeeds' | 'declines' | 'requires_action' | undefined;
  } = {},
): SptBook {
  const now = opts.now ?? Date.now;
  const tokens = new Map<string, SharedPaymentToken>();
  const paymentIntents = new Map<string, SptPaymentIntent>();
  const replays = new Map<string, StripeAnswer>();
  const outcomeOf = (pm: string) => OUTCOMES[pm] ?? opts.paymentMethodOutcome?.(pm);

  const once = (key: string | undefined, run: () => StripeAnswer): StripeAnswer => {
    const seen = key === undefined ? undefined : replays.get(key);
    if (seen) return { ...seen, headers: { ...seen.headers, 'Idempotent-Replayed': 'true' } };
    const answer = run();
    // Stripe stores the outcome of a request that ran, errors included, but not a rejected one (4xx on input).
    if (key !== undefined && (answer.status < 400 || answer.status === 402)) replays.set(key, answer);
    return answer;
  };

  const mint = (form: URLSearchParams, granted: boolean): StripeAnswer => {
    const pm = form.get('payment_method') ?? '';
    if (!pm) return stripeError(400, 'invalid_request_error', 'Missing required param: payment_method.');
    if (!outcomeOf(pm))
      return stripeError(400, 'invalid_request_error', `No such PaymentMethod: '${pm}'`, {
        code: 'resource_missing',
      });
    const currency = (form.get('usage_limits[currency]') ?? '').toLowerCase();
    const maxAmount = Number(form.get('usage_limits[max_amount]'));
    const expiresAt = Number(form.get('usage_limits[expires_at]'));
    if (!/^[a-z]{3}$/.test(currency))
      return stripeError(400, 'invalid_request_error', 'Missing required param: usage_limits[currency].');
    if (!Number.isSafeInteger(maxAmount) || maxAmount <= 0)
      return stripeError(
        400,
        'invalid_request_error',
        'usage_limits[max_amount] must be a positive integer.',
      );
    if (!Number.isSafeInteger(expiresAt) || expiresAt * 1000 <= now())
      return stripeError(400, 'invalid_request_error', 'usage_limits[expires_at] must be in the future.');
    const sellerField = granted ? 'network_id' : 'network_business_profile';
    const seller = form.get(`seller_details[${sellerField}]`);
    if (!seller)
      return stripeError(
        400,
        'invalid_request_error',
        `Missing required param: seller_details[${sellerField}].`,
      );
    const token: SharedPaymentToken = {
      id: `spt_test_${hex(12)}`,
      object: granted ? 'shared_payment.granted_token' : 'shared_payment.issued_token',
      payment_method: pm,
      usage_limits: { currency, max_amount: maxAmount, expires_at: expiresAt },
      seller_details: { [sellerField]: seller },
      status: 'active',
      deactivated_reason: null,
      created: Math.floor(now() / 1000),
      livemode: false,
    };
    tokens.set(token.id, token);
    return { status: 200, body: token };
  };

  const confirm: SptSettlement['confirm'] = (input) =>
    once(input.idempotencyKey, () => {
      const token = tokens.get(input.spt);
      if (!token)
        return stripeError(400, 'invalid_request_error', `No such shared payment token: '${input.spt}'`, {
          code: 'resource_missing',
        });
      if (token.status !== 'active')
        return stripeError(
          400,
          'invalid_request_error',
          `This shared payment token was ${token.deactivated_reason}.`,
          {
            code: 'shared_payment_token_inactive',
          },
        );
      if (token.usage_limits.expires_at * 1000 <= now()) {
        token.status = 'deactivated';
        token.deactivated_reason = 'expired';
        return stripeError(400, 'invalid_request_error', 'This shared payment token has expired.', {
          code: 'shared_payment_token_expired',
        });
      }
      const seller = token.seller_details.network_business_profile ?? token.seller_details.network_id;
      if (input.networkId !== undefined && seller !== input.networkId)
        return stripeError(
          400,
          'invalid_request_error',
          'This shared payment token was granted to another seller.',
        );
      if (
        input.currency.toLowerCase() !== token.usage_limits.currency ||
        input.amount > token.usage_limits.max_amount
      )
        return stripeError(
          400,
          'invalid_request_error',
          'The amount exceeds the shared payment token usage limits.',
          {
            code: 'shared_payment_token_usage_limit_exceeded',
          },
        );
      const outcome = outcomeOf(token.payment_method);
      if (outcome === 'declines')
        return stripeError(402, 'card_error', 'Your card was declined.', {
          code: 'card_declined',
          decline_code: 'generic_decline',
        });
      token.status = 'deactivated';
      token.deactivated_reason = 'consumed';
      const intent: SptPaymentIntent = {
        id: `pi_test_${hex(12)}`,
        object: 'payment_intent',
        amount: input.amount,
        currency: input.currency.toLowerCase(),
        status: outcome === 'requires_action' ? 'requires_action' : 'succeeded',
        shared_payment_granted_token: input.spt,
        metadata: input.metadata ?? {},
        refunded: false,
      };
      paymentIntents.set(intent.id, intent);
      return { status: 200, body: intent };
    });

  return {
    tokens,
    paymentIntents,
    confirm,
    refund(id) {
      const intent = paymentIntents.get(id);
      if (intent) intent.refunded = true;
    },
    route({ method, path, headers, form }) {
      if (method !== 'POST') return undefined;
      const spt =
        path === '/v1/shared_payment/issued_tokens'
          ? 'issued'
          : path === '/v1/test_helpers/shared_payment/granted_tokens'
            ? 'granted'
            : path === '/v1/payment_intents' && form.has('shared_payment_granted_token')
              ? 'confirm'
              : undefined;
      if (!spt) return undefined;
      const key = secretKeyOf(headers['authorization']);
      if (!key) return stripeError(401, 'invalid_request_error', 'Invalid API Key provided.');
      if (!headers['stripe-version']?.endsWith('.preview'))
        return stripeError(
          400,
          'invalid_request_error',
          'Shared payment tokens need a preview Stripe-Version.',
        );
      if (spt !== 'confirm') {
        if (spt === 'granted' && !key.includes('_test_'))
          return stripeError(400, 'invalid_request_error', 'Test helpers need a test mode key.');
        return once(headers['idempotency-key'], () => mint(form, spt === 'granted'));
      }
      const metadata: Record<string, string> = {};
      for (const [k, v] of form) {
        const m = /^metadata\[(.+)\]$/.exec(k);
        if (m?.[1]) metadata[m[1]] = v;
      }
      return confirm({
        spt: form.get('shared_payment_granted_token') ?? '',
        amount: Number(form.get('amount')),
        currency: form.get('currency') ?? '',
        idempotencyKey: headers['idempotency-key'],
        metadata,
      });
    },
  };
}

/** The seller network id of the sandbox Pixelmuse (the real one is unknown: notes §3.9). */
export const SANDBOX_SELLER_NETWORK_ID = 'profile_test_pixelmuse';
/** A restricted test key and a card that pays, so `--sandbox` can buy an image with MPP out of the box. */
export const SANDBOX_STRIPE_KEY = 'rk_test_51SandboxAtelierMppKey0000';
export const SANDBOX_PAYMENT_METHOD = 'pm_card_visa';

/** Bearer or Basic (`key:`), as Stripe accepts either. */
function secretKeyOf(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  const basic = /^Basic\s+(\S+)$/i.exec(authorization)?.[1];
  const key = bearer ?? (basic ? Buffer.from(basic, 'base64').toString('utf8').replace(/:$/, '') : undefined);
  return key && /^(sk|rk)_(test|live)_[A-Za-z0-9]+$/.test(key) ? key : undefined;
}
