import { annotate, OutcomeUnknownError, ProviderError } from '../../errors.js';
import { holdSecret } from '../../redact.js';
import { nothingSent } from '../../spend/outcome.js';
import type { PixelmuseClient } from './client.js';
import type { CreateImageRequest, ModelPricing, MppImageObject } from './types.js';

/**
 * The client side of the Machine Payments Protocol (the `Payment` HTTP auth scheme, notes/pixelmuse.md §3):
 * read the 402's challenges, check one before any money moves, build the credential that echoes it, read
 * the receipt. Hand-written rather than `mppx/client`: that needs viem (~95 MB installed, notes §3.7) and
 * replaces globalThis.fetch by default, for ~200 lines that we test against mppx's own server instead.
 */

/** One `Payment` challenge exactly as received; every field is echoed verbatim in the credential. */
export interface PaymentChallenge {
  id: string;
  realm: string;
  method: string;
  intent: string;
  /** base64url of the JCS request JSON, as received (the server's HMAC covers it). */
  request: string;
  expires?: string;
  description?: string;
  digest?: string;
  opaque?: string;
  /** mppx extension: the header that must carry the credential instead of Authorization. */
  header?: string;
}

/** The decoded `request` of a stripe/charge challenge (spec stripe-charge; amounts in minor units). */
export interface StripeChargeRequest {
  amount: string;
  currency: string;
  description?: string;
  externalId?: string;
  recipient?: string;
  methodDetails: { networkId: string; paymentMethodTypes?: string[]; metadata?: Record<string, string> };
}

/** A challenge we are willing to pay: stripe/charge, not expired, decoded. */
export interface PaymentOffer {
  challenge: PaymentChallenge;
  /** Set when the realm is not the configured host: information, not a refusal (the spec only requires one). */
  realmNote?: string;
  charge: StripeChargeRequest;
  /** Amount in minor units (cents for usd). */
  amountMinor: number;
  currency: string;
  /** When the challenge stops being accepted; an SPT minted for it expires then too. */
  expiresAt: Date;
}

export interface PaymentReceipt {
  status: 'success';
  method: string;
  timestamp: string;
  /** Stripe: the PaymentIntent id, pi_… */
  reference: string;
  externalId?: string;
}

export const PROBLEM_BASE = 'https://paymentauth.org/problems/';
/** The longest `request` mppx accepts; anything bigger is not a challenge worth decoding. */
const MAX_REQUEST_CHARS = 16 * 1024;
/** Without an `expires`, an SPT is limited to this much time (mppx uses an hour; less exposure is better). */
const DEFAULT_OFFER_TTL_MS = 10 * 60_000;
/** A challenge about to expire cannot survive minting a token and a round trip. */
const EXPIRY_MARGIN_MS = 5_000;

interface AuthChallenge {
  scheme: string;
  params: Map<string, string>;
}

/**
 * RFC 9110 §11.6.1 challenges from one (possibly merged) WWW-Authenticate value: several schemes,
 * several challenges per scheme, quoted-string escapes. A challenge with a repeated parameter is dropped
 * (the spec forbids it and it would be ambiguous which one the server's HMAC covers).
 */
export function parseAuthChallenges(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let current: AuthChallenge | undefined;
  let broken = false;
  let i = 0;
  const skip = (re: RegExp) => {
    while (i < header.length && re.test(header[i]!)) i++;
  };
  const token = () => {
    const start = i;
    skip(/[!#$%&'*+.^_`|~0-9A-Za-z-]/);
    return header.slice(start, i);
  };
  const close = () => {
    if (current && !broken) out.push(current);
    current = undefined;
    broken = false;
  };
  while (i < header.length) {
    skip(/[\s,]/);
    if (i >= header.length) break;
    const name = token();
    if (name === '') {
      // Not a token: skip to the next comma and resynchronise.
      skip(/[^,]/);
      continue;
    }
    skip(/[ \t]/);
    if (header[i] === '=' && current) {
      i++;
      skip(/[ \t]/);
      const value = header[i] === '"' ? quoted() : token();
      const key = name.toLowerCase();
      if (current.params.has(key)) broken = true;
      current.params.set(key, value);
      continue;
    }
    // A token not followed by "=" starts a new challenge; its parameters (or token68) follow.
    close();
    current = { scheme: name, params: new Map() };
    const afterScheme = i;
    const maybeParam = token();
    skip(/[ \t]/);
    if (maybeParam !== '' && header[i] === '=' && header[i + 1] !== '=' && header[i + 1] !== ',') {
      i = afterScheme;
    } else if (maybeParam !== '') {
      // token68 (e.g. Basic's credentials): nothing we read; skip it and its padding.
      skip(/=/);
    }
  }
  close();
  return out;

  function quoted(): string {
    i++; // opening quote
    let value = '';
    while (i < header.length) {
      const ch = header[i++]!;
      if (ch === '"') return value;
      if (ch === '\\' && i < header.length) {
        // mppx writes characters above U+00FF as \uXXXX inside quoted strings (header values are bytes).
        const hex = header.slice(i + 1, i + 5);
        if (header[i] === 'u' && /^[0-9A-Fa-f]{4}$/.test(hex)) {
          value += String.fromCharCode(parseInt(hex, 16));
          i += 5;
        } else value += header[i++];
        continue;
      }
      value += ch;
    }
    broken = true; // unterminated
    return value;
  }
}

/** The well-formed `Payment` challenges of a WWW-Authenticate value; unknown parameters are ignored. */
export function parsePaymentChallenges(header: string): PaymentChallenge[] {
  const out: PaymentChallenge[] = [];
  for (const { scheme, params } of parseAuthChallenges(header)) {
    if (scheme.toLowerCase() !== 'payment') continue;
    const [id, realm, method, intent, request] = ['id', 'realm', 'method', 'intent', 'request'].map((k) =>
      params.get(k),
    );
    if (!id || realm === undefined || !method || !intent || !request) continue;
    const challenge: PaymentChallenge = { id, realm, method, intent, request };
    for (const key of ['expires', 'description', 'digest', 'opaque', 'header'] as const) {
      const value = params.get(key);
      if (value !== undefined) challenge[key] = value;
    }
    out.push(challenge);
  }
  return out;
}

export function decodeBase64urlJson(text: string): unknown {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) throw new Error('not base64url');
  return JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
}

export function encodeBase64urlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Why one challenge is not payable, or the offer it makes. */
export function readOffer(
  challenge: PaymentChallenge,
  opts: { baseUrl: string; now?: number },
): PaymentOffer | string {
  const now = opts.now ?? Date.now();
  if (challenge.method !== 'stripe' || challenge.intent !== 'charge')
    return `${challenge.method}/${challenge.intent} is not a method atelier-mcp pays with (only stripe/charge)`;
  const base = new URL(opts.baseUrl);
  // The specification requires a realm but does not bind it to the host: the challenge came from the configured
  // origin, and the price check and the SPT's limits (amount, currency, expiry, seller) bind the payment. mppx's
  // server sets the hostname without the port; another realm is kept as a note.
  const realm = challenge.realm.toLowerCase();
  const realmNote =
    realm !== base.hostname.toLowerCase() && realm !== base.host.toLowerCase()
      ? `its realm "${challenge.realm.slice(0, 80)}" is not ${base.hostname} (PIXELMUSE_BASE_URL)`
      : undefined;
  if (challenge.request.length > MAX_REQUEST_CHARS) return 'its request is larger than 16 KiB';
  let expiresAt = new Date(now + DEFAULT_OFFER_TTL_MS);
  if (challenge.expires !== undefined) {
    const at = Date.parse(challenge.expires);
    if (Number.isNaN(at)) return `its expiry "${challenge.expires}" is not a date`;
    if (at - EXPIRY_MARGIN_MS <= now) return `it expired at ${challenge.expires}`;
    expiresAt = new Date(Math.min(at, expiresAt.getTime()));
  }
  let decoded: unknown;
  try {
    decoded = decodeBase64urlJson(challenge.request);
  } catch {
    return 'its request is not base64url JSON';
  }
  const charge = decoded as Partial<StripeChargeRequest> | null;
  if (!charge || typeof charge !== 'object') return 'its request is not a JSON object';
  if (typeof charge.amount !== 'string' || !/^\d{1,12}$/.test(charge.amount))
    return 'its amount is not a whole number of minor units';
  if (typeof charge.currency !== 'string' || !/^[a-z]{3}$/i.test(charge.currency))
    return 'its currency is not an ISO code';
  const networkId = charge.methodDetails?.networkId;
  if (typeof networkId !== 'string' || networkId === '') return 'it names no seller network id';
  return {
    challenge,
    ...(realmNote ? { realmNote } : {}),
    charge: charge as StripeChargeRequest,
    amountMinor: Number(charge.amount),
    currency: charge.currency.toLowerCase(),
    expiresAt,
  };
}

/**
 * The first payable offer in a 402, or a ProviderError that says why none is. Nothing has been paid
 * when this throws.
 */
export function chooseOffer(error: ProviderError, opts: { baseUrl: string; now?: number }): PaymentOffer {
  const header = error.headers['www-authenticate'];
  const challenges = header ? parsePaymentChallenges(header) : [];
  const reasons: string[] = [];
  for (const challenge of challenges) {
    const offer = readOffer(challenge, opts);
    if (typeof offer !== 'string') return offer;
    reasons.push(`challenge ${challenge.id.slice(0, 12)}: ${offer}`);
  }
  throw new ProviderError({
    provider: 'pixelmuse',
    status: error.status,
    code: 'no_payable_challenge',
    requestId: error.requestId,
    message:
      challenges.length === 0
        ? 'Pixelmuse answered 402 without a Payment challenge (WWW-Authenticate).'
        : 'Pixelmuse offered no payment atelier-mcp will make.',
    facts: [...reasons, 'Nothing was paid.'],
    next:
      'Set PIXELMUSE_API_KEY (or run `npx atelier-mcp login pixelmuse`) to pay with credits instead; ' +
      'check PIXELMUSE_BASE_URL if it points somewhere unexpected.',
  });
}

/** The offer's amount must match what /api/v1/pricing lists for the model, in USD. */
export function checkPrice(offer: PaymentOffer, model: string, pricing: ModelPricing[]): void {
  const listed = pricing.find((p) => p.model === model);
  const refuse = (fact: string) =>
    new ProviderError({
      provider: 'pixelmuse',
      code: 'price_mismatch',
      message: `Pixelmuse asked for ${formatAmount(offer.amountMinor, offer.currency)}, which does not match its price list.`,
      facts: [fact, 'Nothing was paid.'],
      next: 'Call get_pricing to see current prices, then call generate_image again.',
    });
  if (offer.currency !== 'usd') throw refuse(`The challenge is in ${offer.currency.toUpperCase()}, not USD.`);
  if (!listed) throw refuse(`/api/v1/pricing lists no price for ${model}.`);
  if (offer.amountMinor > listed.price_cents)
    throw refuse(`/api/v1/pricing lists ${model} at ${formatAmount(listed.price_cents, 'usd')}.`);
}

export function formatAmount(minor: number, currency: string): string {
  return currency === 'usd'
    ? `$${(minor / 100).toFixed(2)}`
    : `${(minor / 100).toFixed(2)} ${currency.toUpperCase()}`;
}

/** `Payment <base64url JSON>` echoing the challenge verbatim, with the Stripe payload. */
export function buildCredential(offer: PaymentOffer, spt: string): { header: string; value: string } {
  const { challenge } = offer;
  const payload: { spt: string; externalId?: string } = { spt };
  if (offer.charge.externalId !== undefined) payload.externalId = offer.charge.externalId;
  // The credential spends the SPT it carries: masked wherever it would leave, with or without its scheme.
  const credential = encodeBase64urlJson({ challenge, payload });
  holdSecret(spt);
  holdSecret(credential);
  return { header: (challenge.header ?? 'authorization').toLowerCase(), value: `Payment ${credential}` };
}

/** The Payment-Receipt of a 2xx, or undefined when it is absent or unreadable. */
export function decodeReceipt(header: string | undefined): PaymentReceipt | undefined {
  if (!header) return undefined;
  try {
    const receipt = decodeBase64urlJson(header.trim()) as Partial<PaymentReceipt> | null;
    if (
      receipt?.status === 'success' &&
      typeof receipt.method === 'string' &&
      typeof receipt.reference === 'string' &&
      typeof receipt.timestamp === 'string'
    )
      return receipt as PaymentReceipt;
  } catch {
    // An unreadable receipt is reported as missing; the body's payment_intent_id may still say it.
  }
  return undefined;
}

const PROBLEMS: Record<string, { what: string; next: string }> = {
  'payment-required': {
    what: 'Pixelmuse asked for payment again instead of accepting the credential.',
    next: 'Call generate_image again; if it repeats, report it with the server log (stderr).',
  },
  'malformed-credential': {
    what: 'Pixelmuse could not read the payment credential.',
    next: 'Report it with the server log (stderr); meanwhile set PIXELMUSE_API_KEY to pay with credits.',
  },
  'invalid-challenge': {
    what: 'Pixelmuse did not recognise the payment challenge (unknown, already used or altered).',
    next: 'Call generate_image again: it fetches a fresh challenge.',
  },
  'payment-expired': {
    what: 'The payment challenge expired before the payment reached Pixelmuse.',
    next: 'Call generate_image again and confirm promptly: challenges last a few minutes.',
  },
  'verification-failed': {
    what: 'Stripe did not accept the Shared Payment Token (declined, used, or limited below the price).',
    next: 'Check the card behind ATELIER_MPP_PAYMENT_METHOD in the Stripe dashboard, or set PIXELMUSE_API_KEY to pay with credits.',
  },
  'payment-action-required': {
    what: 'The card needs a 3-D Secure check, which cannot be done without a browser.',
    next: 'Set ATELIER_MPP_PAYMENT_METHOD to a card without 3-D Secure, or use a Pixelmuse key (pixelmuse_buy_credits).',
  },
  'payment-insufficient': {
    what: 'Pixelmuse found the payment below the price.',
    next: 'Call get_pricing, then generate_image again (the price may have changed).',
  },
};

/** A 402 answering our credential, in words: what the problem type means and what to do. */
export function explainPaymentFailure(error: ProviderError): ProviderError {
  const body = error.body as { type?: unknown } | undefined;
  const type = typeof body?.type === 'string' && body.type.startsWith(PROBLEM_BASE) ? body.type : undefined;
  const problem = type ? PROBLEMS[type.slice(PROBLEM_BASE.length)] : undefined;
  error.facts.push(
    problem?.what ?? 'Pixelmuse refused the payment.',
    'Pixelmuse reports the payment as not taken, so nothing should have been charged.',
  );
  error.next = problem?.next ?? PROBLEMS['payment-required']!.next;
  return error;
}

/** A paid request that went out: what must be resent exactly if its answer is lost. */
export interface SentPayment {
  payment: { header: string; value: string };
  /** How many times the paid request has been sent. */
  sends: number;
}

export interface MppPurchaseOptions {
  idempotencyKey: string;
  signal?: AbortSignal;
  /** /api/v1/pricing's models, when the caller has them already. */
  pricing?: ModelPricing[];
  /** The most the human approved, in minor units: a challenge asking more is refused before anything is minted. */
  approvedMinor: number;
  /** The credential of an earlier paid request for this same purchase whose answer was lost. */
  earlier?: SentPayment;
  /** Keep the credential durably before the paid request leaves (src/spend/ does, with the charge's key). */
  remember(sent: SentPayment): Promise<void>;
  /** A Shared Payment Token limited to this offer (amount, currency, expiry, seller). */
  mint(offer: PaymentOffer, signal?: AbortSignal): Promise<string>;
  now?: () => number;
}

export type MppPurchase =
  | {
      kind: 'paid';
      image: MppImageObject;
      /** Undefined when an earlier identical call had paid and Pixelmuse replayed its answer. */
      offer: PaymentOffer | undefined;
      amountMinor: number | undefined;
      receipt: PaymentReceipt | undefined;
      /** The PaymentIntent: from the receipt, else from the body. */
      reference: string | undefined;
      replayed: boolean;
      requestId: string | undefined;
    }
  | {
      /** Paid, then the generation failed and said so (a 201 with status failed): Pixelmuse refunds it. */
      kind: 'refunded';
      reference: string | undefined;
      error: ProviderError;
    };

/** Pixelmuse runs at most 5 MPP generations at once (globally); more would only earn 429s. */
export const MPP_MAX_CONCURRENT = 5;
let running = 0;
const queue: Array<() => void> = [];

async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MPP_MAX_CONCURRENT) await new Promise<void>((resolve) => queue.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    queue.shift()?.();
  }
}

/**
 * One image bought with MPP: ask (402), verify the challenge and the price, get consent, mint an SPT
 * for exactly that challenge, send the same request once more with the credential, read the receipt.
 */
export function buyImage(
  pixelmuse: PixelmuseClient,
  body: CreateImageRequest,
  opts: MppPurchaseOptions,
): Promise<MppPurchase> {
  return slot(async () => {
    const request = { idempotencyKey: opts.idempotencyKey, signal: opts.signal };
    if (opts.earlier) return resend(opts.earlier);
    let challenge: ProviderError;
    try {
      const replay = await pixelmuse.generateWithPayment(body, request);
      // Only an earlier paid request with this idempotency key answers 2xx without a credential.
      return paid(replay, undefined, true);
    } catch (error) {
      // Nothing was paid yet: the credential goes only with the second request.
      if (!(error instanceof ProviderError) || error.status !== 402) throw nothingSent(error);
      challenge = error;
    }
    let offer: PaymentOffer;
    try {
      offer = chooseOffer(challenge, { baseUrl: pixelmuse.baseUrl, now: opts.now?.() });
      checkPrice(offer, body.model, opts.pricing ?? (await pixelmuse.getPricing(opts.signal)).models);
    } catch (error) {
      throw nothingSent(error);
    }
    // The consent covers the approved price; a challenge asking more is not what the human approved.
    if (offer.amountMinor > opts.approvedMinor) {
      throw nothingSent(
        new ProviderError({
          provider: 'pixelmuse',
          code: 'price_changed',
          message: `Pixelmuse now asks ${formatAmount(offer.amountMinor, offer.currency)}, more than the ${formatAmount(opts.approvedMinor, offer.currency)} approved.`,
          facts: ['Nothing was paid.'],
          next: 'Call generate_image again without confirmation_token for a new quote.',
        }),
      );
    }
    const spt = await opts.mint(offer, opts.signal).catch((error: unknown) => {
      throw nothingSent(
        annotate(error, {
          facts: ['No Shared Payment Token was issued, so nothing was paid.'],
          next: 'Check ATELIER_STRIPE_SECRET_KEY and the card ATELIER_MPP_PAYMENT_METHOD names, then call again.',
        }),
      );
    });
    const sent: SentPayment = { payment: buildCredential(offer, spt), sends: 1 };
    await opts.remember(sent);
    let res;
    try {
      res = await pixelmuse.generateWithPayment(body, { ...request, payment: sent.payment });
    } catch (error) {
      if (error instanceof ProviderError && error.status === 402) throw explainPaymentFailure(error);
      throw annotate(error, {
        facts: [
          `The payment of ${formatAmount(offer.amountMinor, offer.currency)} was sent and its outcome is unknown.`,
        ],
      });
    }
    return settle(res, offer);
  });

  /** The answer to a paid request was lost: send the very same credential once more, never a new one. */
  async function resend(earlier: SentPayment): Promise<MppPurchase> {
    if (earlier.sends >= 2) {
      throw new OutcomeUnknownError(
        'The paid MPP request was already sent twice without an answer that settles it; it is not sent again.',
        {
          next:
            'Check the Stripe dashboard of ATELIER_STRIPE_SECRET_KEY for a PaymentIntent of this amount; spend_report ' +
            'shows the amount held against the cap meanwhile. Generate again with other arguments for a new purchase.',
        },
      );
    }
    await opts.remember({ ...earlier, sends: earlier.sends + 1 });
    let res;
    try {
      res = await pixelmuse.generateWithPayment(body, {
        idempotencyKey: opts.idempotencyKey,
        signal: opts.signal,
        payment: earlier.payment,
      });
    } catch (error) {
      // Turned away unhandled (a 408 or 429, every try of it): this send does not count, so a later call may resend.
      if (
        error instanceof ProviderError &&
        (error.status === 408 || error.status === 429) &&
        !error.earlierAttemptUnknown
      ) {
        await opts.remember(earlier);
      }
      // A credential refused on its second trip (used, unknown challenge) may be refused because the first paid.
      if (error instanceof ProviderError && error.status === 402) {
        throw new OutcomeUnknownError(
          'Pixelmuse refused the resent payment credential, which may mean the first one was taken.',
          { facts: [`Pixelmuse said: ${error.message.slice(0, 200)}`], cause: error },
        );
      }
      throw error;
    }
    return settle(res, undefined);
  }

  function settle(
    res: Awaited<ReturnType<PixelmuseClient['generateWithPayment']>>,
    offer: PaymentOffer | undefined,
  ): MppPurchase {
    if (res.body.status === 'failed') {
      const error = new ProviderError({
        provider: 'pixelmuse',
        status: res.status,
        code: 'generation_failed',
        requestId: res.requestId,
        message: `Pixelmuse took the payment and then failed to generate (job ${res.body.id}).`,
        facts: res.body.error ? [`Pixelmuse said: ${res.body.error.slice(0, 300)}`] : [],
        body: res.body,
      });
      return refunded(error, res.body.payment_intent_id, offer);
    }
    return paid(res, offer, offer === undefined);
  }

  function paid(
    res: Awaited<ReturnType<PixelmuseClient['generateWithPayment']>>,
    offer: PaymentOffer | undefined,
    replayed: boolean,
  ): MppPurchase {
    const receipt = decodeReceipt(res.headers['payment-receipt']);
    return {
      kind: 'paid',
      image: res.body,
      offer,
      amountMinor: res.body.price_cents ?? offer?.amountMinor,
      receipt,
      reference: receipt?.reference ?? res.body.payment_intent_id,
      replayed: replayed || res.headers['x-idempotent-replayed'] === 'true',
      requestId: res.requestId,
    };
  }
}

function refunded(
  error: ProviderError,
  reference: string | undefined,
  offer: PaymentOffer | undefined,
): MppPurchase {
  error.facts.push(
    `The payment${offer ? ` of ${formatAmount(offer.amountMinor, offer.currency)}` : ''}${reference ? ` (${reference})` : ''} ` +
      'is refunded automatically by Pixelmuse when a paid generation fails.',
  );
  error.next ??= 'Call generate_image again (it asks for a new payment), or try another model.';
  return { kind: 'refunded', reference, error };
}
