import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Mppx, Request as MppxRequest } from 'mppx/server/core';
import { stripe } from 'mppx/stripe/server/spt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { PixelmuseClient } from '../../../src/providers/pixelmuse/client.js';
import { buildCredential, buyImage, type PaymentOffer } from '../../../src/providers/pixelmuse/mpp.js';
import { SptMinter } from '../../../src/providers/stripe.js';
import { startStripeEmulator, type StripeEmulator } from '../../../src/sandbox/index.js';
import { createSptBook } from '../../../src/sandbox/stripe/spt.js';

/**
 * Our MPP client against a seller we did not write: mppx 0.11's own server (`mppx/server/core` with the
 * Stripe SPT method). Its PaymentIntent call goes to our Stripe emulator on loopback, which also minted
 * the token our client paid with, so the whole exchange crosses real HTTP on both sides.
 */

const NETWORK_ID = 'profile_test_interop';
const SELLER_KEY = 'sk_test_sellerInterop123';
const BUYER_KEY = 'rk_test_buyerInterop456';
const PRICE_CENTS = 10;

let stripeEmu: StripeEmulator;
let seller: Server;
let sellerUrl: string;
let paymentIntentCalls: Array<Record<string, unknown>>;
let generated: number;

/** The slice of the Stripe SDK that mppx's server uses, answered by the loopback Stripe emulator. */
function stripeSdk(base: string) {
  return {
    paymentIntents: {
      async create(params: Record<string, unknown>, options: { apiVersion: string; idempotencyKey: string }) {
        paymentIntentCalls.push(params);
        const form = new URLSearchParams();
        for (const [k, v] of Object.entries(params)) {
          if (v && typeof v === 'object')
            for (const [k2, v2] of Object.entries(v as Record<string, unknown>))
              form.set(`${k}[${k2}]`, String(v2));
          else form.set(k, String(v));
        }
        const res = await fetch(`${base}/v1/payment_intents`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${SELLER_KEY}`,
            'stripe-version': options.apiVersion,
            'idempotency-key': options.idempotencyKey,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: form,
        });
        const body = (await res.json()) as { id: string; status: string; error?: { message: string } };
        if (!res.ok) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
        return {
          ...body,
          lastResponse: { headers: { 'idempotent-replayed': res.headers.get('idempotent-replayed') } },
        };
      },
    },
  };
}

beforeEach(async () => {
  paymentIntentCalls = [];
  generated = 0;
  stripeEmu = await startStripeEmulator({ book: createSptBook() });
  const mppx = Mppx.create({
    secretKey: 'interop-secret-key-that-is-long-enough-0123456789',
    methods: [
      stripe.charge({
        client: stripeSdk(stripeEmu.url) as never,
        networkId: NETWORK_ID,
        paymentMethodTypes: ['card'],
        currency: 'usd',
        decimals: 2,
      }),
    ],
  });
  const charge = mppx.charge({
    amount: (PRICE_CENTS / 100).toFixed(2),
    description: 'Flux Schnell image — “interop”',
  });
  const handler = async (request: globalThis.Request): Promise<globalThis.Response> => {
    const path = new URL(request.url).pathname;
    if (path === '/api/v1/pricing')
      return Response.json({
        usd_per_credit: 0.1,
        models: [
          {
            model: 'flux-schnell',
            name: 'Flux Schnell',
            credit_cost: 1,
            price_usd: 0.1,
            price_cents: PRICE_CENTS,
          },
        ],
      });
    const result = await charge(request);
    if (result.status === 402) return result.challenge;
    generated += 1;
    return result.withReceipt(
      Response.json(
        {
          id: `gen_${generated}`,
          status: 'succeeded',
          model: 'flux-schnell',
          prompt: 'a lighthouse',
          output: ['data:image/png;base64,iVBORw0KGgo='],
          visibility: 'private',
          price_usd: 0.1,
          price_cents: PRICE_CENTS,
          payment_intent_id: 'pi_from_body',
          error: null,
          created_at: new Date().toISOString(),
          completed_at: null,
        },
        { status: 201 },
      ),
    );
  };
  seller = createServer(MppxRequest.toNodeListener(handler));
  await new Promise<void>((resolve) => seller.listen(0, '127.0.0.1', resolve));
  sellerUrl = `http://127.0.0.1:${(seller.address() as AddressInfo).port}`;
});

afterEach(async () => {
  seller.closeAllConnections();
  await new Promise<void>((resolve) => seller.close(() => resolve()));
  await stripeEmu.close();
});

function clients(paymentMethod = 'pm_card_visa') {
  const pixelmuse = new PixelmuseClient({
    baseUrl: sellerUrl,
    log: silentLogger,
    apiKey: async () => undefined,
  });
  const minter = new SptMinter({ secretKey: BUYER_KEY, paymentMethod, apiBase: stripeEmu.url }, silentLogger);
  return { pixelmuse, minter };
}

describe('our MPP client against mppx 0.11 server/core + stripe SPT', () => {
  it('reads its challenge, pays with an SPT limited to it, and gets the image with a pi_ receipt', async () => {
    const { pixelmuse, minter } = clients();
    const offers: PaymentOffer[] = [];
    const bought = await buyImage(
      pixelmuse,
      { prompt: 'a lighthouse', model: 'flux-schnell' },
      {
        idempotencyKey: 'interop-1',
        approvedMinor: 1_000,
        remember: async () => {},
        mint: (offer, signal) => (offers.push(offer), minter.mint(offer, signal)),
      },
    );
    expect(bought.kind).toBe('paid');
    if (bought.kind !== 'paid') return;
    // mppx sets the realm to the hostname without the port; the description's non-Latin-1 came escaped.
    expect(offers[0]?.challenge.realm).toBe('127.0.0.1');
    expect(offers[0]?.challenge.description).toBe('Flux Schnell image — “interop”');
    expect([offers[0]?.amountMinor, offers[0]?.currency, offers[0]?.charge.methodDetails.networkId]).toEqual([
      PRICE_CENTS,
      'usd',
      NETWORK_ID,
    ]);
    const [intent] = [...stripeEmu.book.paymentIntents.values()];
    expect(bought.receipt).toMatchObject({ status: 'success', method: 'stripe', reference: intent?.id });
    expect(bought.reference).toBe(intent?.id);
    expect(bought.image.id).toBe('gen_1');
    // The token mppx settled is the one we minted, limited to exactly the challenge.
    const [token] = [...stripeEmu.book.tokens.values()];
    expect(token?.usage_limits).toEqual({
      currency: 'usd',
      max_amount: PRICE_CENTS,
      expires_at: Math.floor(offers[0]!.expiresAt.getTime() / 1000),
    });
    expect(token?.seller_details).toEqual({ network_id: NETWORK_ID });
    expect(token?.deactivated_reason).toBe('consumed');
    expect(paymentIntentCalls).toHaveLength(1);
    expect(paymentIntentCalls[0]).toMatchObject({
      amount: PRICE_CENTS,
      shared_payment_granted_token: token?.id,
    });
  });

  it('maps mppx refusals to payment errors and never pays twice for one challenge', async () => {
    const { pixelmuse, minter } = clients('pm_card_chargeDeclined');
    const failure = await buyImage(
      pixelmuse,
      { prompt: 'a lighthouse', model: 'flux-schnell' },
      {
        idempotencyKey: 'interop-2',
        approvedMinor: 1_000,
        remember: async () => {},
        mint: (o) => minter.mint(o),
      },
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ status: 402, code: 'verification-failed' });
    expect((failure as ProviderError).facts.join(' ')).toMatch(/Stripe did not accept/);
    expect(generated).toBe(0);
    expect(stripeEmu.book.paymentIntents.size).toBe(0);
  });

  it('cannot spend one credential twice: mppx sees Stripe replay the PaymentIntent and refuses', async () => {
    const { pixelmuse, minter } = clients();
    let credential: ReturnType<typeof buildCredential> | undefined;
    const body = { prompt: 'a lighthouse', model: 'flux-schnell' };
    await buyImage(pixelmuse, body, {
      idempotencyKey: 'interop-3',
      approvedMinor: 1_000,
      remember: async () => {},
      mint: async (offer) => {
        const spt = await minter.mint(offer);
        credential = buildCredential(offer, spt);
        return spt;
      },
    });
    const again = await pixelmuse
      .generateWithPayment(body, { idempotencyKey: 'interop-3b', payment: credential })
      .catch((e: unknown) => e);
    expect(again).toMatchObject({ status: 402, code: 'verification-failed' });
    expect(generated).toBe(1);
    expect(stripeEmu.book.paymentIntents.size).toBe(1);
  });
});
