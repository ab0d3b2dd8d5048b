import { ApiError, json, type Exchange } from '../core/exchange.js';
import { startEmulatorServer, type EmulatorServer, type Fault } from '../core/server.js';
import { CardRegistry, luhnValid } from './cards.js';
import { createSptBook, type SptBook } from './spt.js';

export { CardRegistry, type CardBehaviour, type StoredCard } from './cards.js';

/** The publishable key the sandbox hands out; it identifies the account, it is not a secret. */
export const SANDBOX_STRIPE_PUBLISHABLE_KEY = 'pk_test_51SbxAtelierSandboxPublishableKey0000000000';

export interface StripeEmulatorOptions {
  port?: number;
  now?: () => number;
  /** The Shared Payment Token state (MPP); default: one that knows the cards tokenized here. */
  book?: SptBook;
}

export interface StripeEmulator {
  url: string;
  publishableKey: string;
  cards: CardRegistry;
  /** Shared Payment Tokens and the PaymentIntents paid with them (src/sandbox/stripe/spt.ts). */
  book: SptBook;
  readonly requests: EmulatorServer['requests'];
  inject(fault: Fault): void;
  close(): Promise<void>;
}

type StripeRoute = { method: string; pattern: RegExp; run(ex: Exchange, form: URLSearchParams): void };

/** Stripe's error envelope: `{error: {type, code, decline_code?, message, param?}}` and a Request-Id header. */
function stripeError(ex: Exchange, error: ApiError): void {
  const { type = 'card_error', ...rest } = error.details ?? {};
  json(
    ex,
    error.status,
    { error: { type, code: error.code, message: error.message, ...rest } },
    {
      'Request-Id': ex.requestId,
    },
  );
}

/**
 * Stripe as an agent meets it: `/v1/payment_methods` (form-encoded, a publishable key, Stripe's test card
 * numbers and card errors) and the Shared Payment Token routes of the SPT book, over the same cards.
 */
export async function startStripeEmulator(opts: StripeEmulatorOptions = {}): Promise<StripeEmulator> {
  const now = opts.now ?? Date.now;
  const cards = new CardRegistry();
  const publishableKey = SANDBOX_STRIPE_PUBLISHABLE_KEY;
  const book =
    opts.book ?? createSptBook({ now, paymentMethodOutcome: (pm) => cards.get(pm)?.behaviour.kind });

  const cardError = (code: string, message: string, param: string) =>
    new ApiError(402, code, message, {}, { type: 'card_error', param });

  const ROUTES: StripeRoute[] = [
    {
      method: 'POST',
      pattern: /^\/v1\/payment_methods$/,
      run(ex, form) {
        if (form.get('type') !== 'card') {
          throw new ApiError(
            400,
            'parameter_invalid_empty',
            'Missing required param: type.',
            {},
            {
              type: 'invalid_request_error',
              param: 'type',
            },
          );
        }
        const number = (form.get('card[number]') ?? '').replace(/\s/g, '');
        const month = Number(form.get('card[exp_month]'));
        const year = Number(form.get('card[exp_year]'));
        const cvc = form.get('card[cvc]') ?? '';
        if (!luhnValid(number))
          throw cardError('incorrect_number', 'Your card number is incorrect.', 'number');
        if (!Number.isInteger(month) || month < 1 || month > 12) {
          throw cardError('invalid_expiry_month', "Your card's expiration month is invalid.", 'exp_month');
        }
        const today = new Date(now());
        const fullYear = year < 100 ? 2000 + year : year;
        if (
          !Number.isInteger(year) ||
          fullYear < today.getUTCFullYear() ||
          fullYear > today.getUTCFullYear() + 50
        ) {
          throw cardError('invalid_expiry_year', "Your card's expiration year is invalid.", 'exp_year');
        }
        if (fullYear === today.getUTCFullYear() && month < today.getUTCMonth() + 1) {
          throw cardError('expired_card', 'Your card has expired.', 'exp_month');
        }
        if (!/^\d{3,4}$/.test(cvc))
          throw cardError('invalid_cvc', "Your card's security code is invalid.", 'cvc');
        const card = cards.add(number, month, fullYear);
        json(
          ex,
          200,
          {
            id: card.id,
            object: 'payment_method',
            type: 'card',
            card: {
              brand: card.brand,
              last4: card.last4,
              exp_month: card.exp_month,
              exp_year: card.exp_year,
              funding: 'credit',
              country: 'US',
              checks: { cvc_check: 'unchecked' },
            },
            created: Math.floor(now() / 1000),
            livemode: false,
          },
          { 'Request-Id': ex.requestId },
        );
      },
    },
  ];

  const server = await startEmulatorServer({
    port: opts.port,
    errorBody: (_ex, status, message) => ({ error: { type: 'api_error', code: `http_${status}`, message } }),
    async handle(ex) {
      try {
        const form = new URLSearchParams(ex.raw);
        const route = ROUTES.find((r) => r.method === ex.method && r.pattern.test(ex.path));
        const spt = route
          ? undefined
          : book.route({ method: ex.method, path: ex.path, headers: ex.headers, form });
        if (spt) {
          json(ex, spt.status, spt.body, { 'Request-Id': ex.requestId, ...spt.headers });
          return;
        }
        if (!route) {
          throw new ApiError(
            404,
            'resource_missing',
            `Unrecognized request URL (${ex.method}: ${ex.path}).`,
            {},
            {
              type: 'invalid_request_error',
            },
          );
        }
        // Stripe takes the key as Basic user name (curl -u pk:) or as a Bearer token.
        const auth = ex.headers['authorization'] ?? '';
        const basic = /^Basic\s+(\S+)$/i.exec(auth)?.[1];
        const key = basic
          ? Buffer.from(basic, 'base64').toString('utf8').replace(/:$/, '')
          : /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
        if (key !== publishableKey) {
          throw new ApiError(
            401,
            'api_key_invalid',
            'Invalid API Key provided.',
            {},
            { type: 'invalid_request_error' },
          );
        }
        route.run(ex, form);
      } catch (error) {
        const apiError =
          error instanceof ApiError ? error : new ApiError(500, 'api_error', 'Internal sandbox error.');
        stripeError(ex, apiError);
      }
    },
  });

  return {
    url: server.url,
    publishableKey,
    cards,
    book,
    requests: server.requests,
    inject: (fault) => server.inject(fault),
    close: () => server.close(),
  };
}
