import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SptSettlement } from '../stripe/spt.js';
import { SANDBOX_SELLER_NETWORK_ID } from '../stripe/spt.js';

/**
 * The seller side of MPP for the Pixelmuse emulator (notes/pixelmuse.md §3): HMAC-bound stripe/charge
 * challenges with an expiry, single-use credentials settled through the Stripe emulator's SPTs, receipts,
 * a refund when a paid generation fails, 30 requests/min per IP and 5 generations at once.
 */

export interface MppSellerOptions {
  now?: () => number;
  /** Default 5 minutes (mppx's server default). */
  challengeTtlMs?: number;
  networkId?: string;
  /** Where SPTs are confirmed; without it every credential fails verification. */
  stripe?: SptSettlement;
  perMinute?: number;
  maxConcurrent?: number;
}

export interface MppAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** What a paid generation produced; `view` becomes the MppImageObject. */
export type GenerationResult = { ok: true; view: Record<string, unknown> } | { ok: false; error: string };

export interface MppSale {
  ip: string;
  /** The request's Authorization (or other credential) header, if any. */
  authorization: string | undefined;
  idempotencyKey: string | undefined;
  /** Canonical request body: a replay must match it. */
  canonicalBody: string;
  realm: string;
  priceCents: number;
  description: string;
  /** Runs only after the payment settled. */
  generate(): Promise<GenerationResult>;
}

export interface MppSeller {
  /** A request that is over the per-IP limit, or undefined to go on. Counted before anything else. */
  limit(ip: string): MppAnswer | undefined;
  sell(sale: MppSale): Promise<MppAnswer>;
  /** Challenge ids issued and settled, for tests. */
  readonly settled: ReadonlyArray<{ challengeId: string; paymentIntent: string; refunded: boolean }>;
}

const PROBLEM = 'https://paymentauth.org/problems/';
const WINDOW_MS = 60_000;

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** RFC 8785 for the flat string/array/object values a stripe/charge request holds: sorted keys, no spaces. */
function jcs(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(jcs).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${jcs((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** A challenge echoed in a credential: the fields the HMAC binds, as strings. */
type Challenge = Record<string, string | undefined> & { id: string; request: string };

const quote = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function createMppSeller(opts: MppSellerOptions = {}): MppSeller {
  const now = opts.now ?? Date.now;
  const secret = randomBytes(32);
  const ttl = opts.challengeTtlMs ?? 5 * 60_000;
  const networkId = opts.networkId ?? SANDBOX_SELLER_NETWORK_ID;
  const perMinute = opts.perMinute ?? 30;
  const maxConcurrent = opts.maxConcurrent ?? 5;
  const used = new Set<string>();
  const windows = new Map<string, { start: number; count: number }>();
  const replays = new Map<string, { canonical: string; answer: Promise<MppAnswer> }>();
  const settled: Array<{ challengeId: string; paymentIntent: string; refunded: boolean }> = [];
  let running = 0;

  const bind = (c: Record<string, string | undefined>) =>
    createHmac('sha256', secret)
      .update(
        [c.realm, c.method, c.intent, c.request, c.expires ?? '', c.digest ?? '', c.opaque ?? ''].join('|'),
      )
      .digest('base64url');

  const challenge = (sale: MppSale) => {
    const request = Buffer.from(
      jcs({
        amount: String(sale.priceCents),
        currency: 'usd',
        description: sale.description,
        methodDetails: { networkId, paymentMethodTypes: ['card'] },
      }),
    ).toString('base64url');
    const fields = {
      realm: sale.realm,
      method: 'stripe',
      intent: 'charge',
      request,
      expires: new Date(now() + ttl).toISOString(),
    };
    const id = bind(fields);
    return [
      `Payment id=${quote(id)}`,
      `realm=${quote(fields.realm)}`,
      `method=${quote(fields.method)}`,
      `intent=${quote(fields.intent)}`,
      `request=${quote(request)}`,
      `description=${quote(sale.description)}`,
      `expires=${quote(fields.expires)}`,
    ].join(', ');
  };

  /** Every refusal carries a fresh challenge, as the spec asks. */
  const refuse = (sale: MppSale, type: string, title: string, detail: string): MppAnswer => ({
    status: 402,
    headers: {
      'WWW-Authenticate': challenge(sale),
      'Cache-Control': 'no-store',
      'Content-Type': 'application/problem+json',
    },
    body: { type: `${PROBLEM}${type}`, title, status: 402, detail },
  });

  /** The credential's echoed challenge if it is readable and was issued (HMAC-bound) here, else the refusal. */
  const issued = (sale: MppSale): MppAnswer | { c: Challenge; payload: { spt?: unknown } | undefined } => {
    const raw = /^Payment\s+([A-Za-z0-9_-]+=*)\s*$/i.exec(sale.authorization ?? '')?.[1];
    if (!raw)
      return refuse(sale, 'payment-required', 'Payment Required', `Pay ${usd(sale.priceCents)} to generate.`);
    let credential: { challenge?: Record<string, string>; payload?: { spt?: unknown } };
    try {
      credential = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as typeof credential;
    } catch {
      return refuse(
        sale,
        'malformed-credential',
        'Malformed Credential',
        'The credential is not base64url JSON.',
      );
    }
    const c = credential.challenge;
    if (!c || typeof c.id !== 'string' || typeof c.request !== 'string')
      return refuse(
        sale,
        'malformed-credential',
        'Malformed Credential',
        'The credential echoes no challenge.',
      );
    const expected = Buffer.from(bind(c));
    const given = Buffer.from(c.id);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      return refuse(
        sale,
        'invalid-challenge',
        'Invalid Challenge',
        'The challenge was not issued by this server.',
      );
    return { c: c as Challenge, payload: credential.payload };
  };

  const settle = async (sale: MppSale): Promise<MppAnswer> => {
    const read = issued(sale);
    if ('status' in read) return read;
    const { c, payload } = read;
    if (c.realm !== sale.realm)
      return refuse(
        sale,
        'invalid-challenge',
        'Invalid Challenge',
        'The challenge belongs to another realm.',
      );
    if (!c.expires || Date.parse(c.expires) <= now())
      return refuse(sale, 'payment-expired', 'Payment Expired', `The challenge expired at ${c.expires}.`);
    if (used.has(c.id))
      return refuse(sale, 'invalid-challenge', 'Invalid Challenge', 'The challenge was already used.');
    const request = JSON.parse(Buffer.from(c.request, 'base64url').toString('utf8')) as {
      amount: string;
      currency: string;
    };
    if (request.currency !== 'usd' || Number(request.amount) < sale.priceCents)
      return refuse(
        sale,
        'payment-insufficient',
        'Payment Insufficient',
        `This generation costs ${usd(sale.priceCents)}; the challenge was for ${request.amount} ${request.currency}.`,
      );
    const spt = payload?.spt;
    if (typeof spt !== 'string')
      return refuse(sale, 'malformed-credential', 'Malformed Credential', 'The payload has no spt.');
    if (running >= maxConcurrent) {
      // Checked before settling: a busy server must not take money it cannot turn into an image.
      return {
        status: 429,
        headers: { 'Retry-After': '5' },
        body: { error: { code: 'rate_limit_error', message: 'Too many concurrent MPP generations.' } },
      };
    }
    used.add(c.id);
    const paid = opts.stripe?.confirm({
      spt,
      amount: Number(request.amount),
      currency: request.currency,
      networkId,
      idempotencyKey: `mpp_${c.id}_${spt}`,
      metadata: { machine_payment: 'true', mpp_challenge_id: c.id },
    });
    const intent = paid?.body as { id?: string; status?: string; error?: { message?: string } } | undefined;
    if (!paid || paid.status >= 400 || !intent?.id)
      return refuse(
        sale,
        'verification-failed',
        'Verification Failed',
        `Stripe PaymentIntent failed: ${intent?.error?.message ?? 'no Stripe is configured for the sandbox seller'}`,
      );
    if (intent.status === 'requires_action')
      return refuse(
        sale,
        'payment-action-required',
        'Payment Action Required',
        'Stripe PaymentIntent requires action',
      );
    const record = { challengeId: c.id, paymentIntent: intent.id, refunded: false };
    settled.push(record);
    running++;
    let result: GenerationResult;
    try {
      result = await sale.generate();
    } finally {
      running--;
    }
    if (!result.ok) {
      opts.stripe?.refund(intent.id);
      record.refunded = true;
      return {
        status: 500,
        headers: {},
        body: {
          error: { code: 'generation_failed', message: `${result.error}. The payment was refunded.` },
          payment_intent_id: intent.id,
        },
      };
    }
    const receipt = {
      method: 'stripe',
      status: 'success',
      timestamp: new Date(now()).toISOString(),
      reference: intent.id,
    };
    return {
      status: 201,
      headers: { 'Payment-Receipt': b64(receipt), 'Cache-Control': 'private' },
      body: {
        ...result.view,
        price_usd: sale.priceCents / 100,
        price_cents: sale.priceCents,
        payment_intent_id: intent.id,
      },
    };
  };

  return {
    settled,
    limit(ip) {
      const t = now();
      let window = windows.get(ip);
      if (!window || t >= window.start + WINDOW_MS) windows.set(ip, (window = { start: t, count: 0 }));
      window.count += 1;
      if (window.count <= perMinute) return undefined;
      return {
        status: 429,
        headers: { 'Retry-After': String(Math.max(1, Math.ceil((window.start + WINDOW_MS - t) / 1000))) },
        body: {
          error: { code: 'rate_limit_error', message: 'MPP rate limit: 30 requests per minute per IP.' },
        },
      };
    },
    async sell(sale) {
      const key = sale.idempotencyKey;
      // The spec: "the unpaid request that triggers a 402 challenge MUST NOT modify server state". A request
      // without a credential gets a fresh challenge whatever its key, never a paid answer. A paid request whose
      // key already paid (its credential resent after a lost answer) is answered from the replay cache, as the
      // OpenAPI's idempotency says, but only for a credential this server issued: the image is not handed to
      // anyone who merely knows the key. A settled credential under another key, or none, is a replay of a
      // single-use proof and is refused (settle: "already used").
      const earlier = key === undefined || sale.authorization === undefined ? undefined : replays.get(key);
      if (earlier) {
        const read = issued(sale);
        if ('status' in read) return read;
        if (earlier.canonical !== sale.canonicalBody)
          return {
            status: 422,
            headers: {},
            body: {
              error: {
                code: 'idempotency_conflict',
                message: 'This Idempotency-Key was already used with a different request body.',
              },
            },
          };
        const answer = await earlier.answer;
        return { ...answer, headers: { ...answer.headers, 'X-Idempotent-Replayed': 'true' } };
      }
      const answer = settle(sale);
      // Only a request that was paid is remembered: a 402 leaves the key free for the paid retry.
      const paid = key !== undefined && sale.authorization !== undefined;
      if (paid) replays.set(key, { canonical: sale.canonicalBody, answer });
      const done = await answer;
      if (paid && done.status !== 201 && done.status !== 500) replays.delete(key);
      return done;
    },
  };
}

function usd(cents: number): string {
  return `$${(cents / 100).toFixed(2)}`;
}
