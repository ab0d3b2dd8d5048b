import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ProviderError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { PixelmuseClient } from '../../../src/providers/pixelmuse/client.js';
import {
  buildCredential,
  buyImage,
  checkPrice,
  decodeBase64urlJson,
  decodeReceipt,
  encodeBase64urlJson,
  parseAuthChallenges,
  parsePaymentChallenges,
  readOffer,
  type PaymentChallenge,
  type PaymentOffer,
  type SentPayment,
} from '../../../src/providers/pixelmuse/mpp.js';
import { SptMinter } from '../../../src/providers/stripe.js';
import { startSandbox, type Sandbox } from '../../../src/sandbox/index.js';
import { isUnknownOutcome } from '../../../src/spend/outcome.js';

const request = (over: Record<string, unknown> = {}) =>
  encodeBase64urlJson({
    amount: '10',
    currency: 'usd',
    methodDetails: { networkId: 'profile_x', paymentMethodTypes: ['card'] },
    ...over,
  });

const challenge = (over: Partial<PaymentChallenge> = {}): PaymentChallenge => ({
  id: 'abc',
  realm: 'www.pixelmuse.studio',
  method: 'stripe',
  intent: 'charge',
  request: request(),
  expires: new Date(Date.now() + 60_000).toISOString(),
  ...over,
});

describe('WWW-Authenticate: Payment parsing', () => {
  it('reads several challenges from one header among other schemes, ignoring unknown parameters', () => {
    const header =
      'Bearer realm="api", error="invalid_token", ' +
      'Payment id="one", realm="a.example", method="tempo", intent="charge", request="e30", flavour=vanilla, ' +
      'Basic dXNlcjpwYXNz==, ' +
      'payment ID=two, Realm="a.example", method="stripe", intent="charge", request="e30", expires="2030-01-01T00:00:00Z"';
    const parsed = parsePaymentChallenges(header);
    expect(parsed).toEqual([
      { id: 'one', realm: 'a.example', method: 'tempo', intent: 'charge', request: 'e30' },
      {
        id: 'two',
        realm: 'a.example',
        method: 'stripe',
        intent: 'charge',
        request: 'e30',
        expires: '2030-01-01T00:00:00Z',
      },
    ]);
    expect(parseAuthChallenges(header).map((c) => c.scheme)).toEqual([
      'Bearer',
      'Payment',
      'Basic',
      'payment',
    ]);
  });

  it('unescapes quoted strings, including the \\uXXXX mppx writes above Latin-1', () => {
    const [c] = parsePaymentChallenges(
      String.raw`Payment id="x", realm="r", method="stripe", intent="charge", request="e30", description="a \"quoted\", back\\slash \u2014 done"`,
    );
    expect(c?.description).toBe('a "quoted", back\\slash \u2014 done');
  });

  it('drops a challenge with a repeated parameter, an unterminated string, or a missing field', () => {
    expect(
      parsePaymentChallenges(
        'Payment id="a", id="b", realm="r", method="stripe", intent="charge", request="e30"',
      ),
    ).toEqual([]);
    expect(
      parsePaymentChallenges('Payment id="a", realm="r", method="stripe", intent="charge", request="e30'),
    ).toEqual([]);
    expect(parsePaymentChallenges('Payment id="a", realm="r", method="stripe", intent="charge"')).toEqual([]);
  });
});

describe('checking an offer before paying', () => {
  const base = 'https://www.pixelmuse.studio';

  it('accepts stripe/charge for our hostname, with or without the port', () => {
    const offer = readOffer(challenge(), { baseUrl: base });
    expect(offer).toMatchObject({
      amountMinor: 10,
      currency: 'usd',
      charge: { methodDetails: { networkId: 'profile_x' } },
    });
    expect(typeof readOffer(challenge({ realm: '127.0.0.1' }), { baseUrl: 'http://127.0.0.1:4100' })).toBe(
      'object',
    );
    expect(
      typeof readOffer(challenge({ realm: '127.0.0.1:4100' }), { baseUrl: 'http://127.0.0.1:4100' }),
    ).toBe('object');
  });

  it('keeps another realm as information, not a refusal (the specification only requires a realm)', () => {
    const offer = readOffer(challenge({ realm: 'pay.pixelmuse.example' }), { baseUrl: base });
    expect(offer).toMatchObject({
      amountMinor: 10,
      currency: 'usd',
      realmNote: expect.stringMatching(/realm "pay\.pixelmuse\.example" is not /),
    });
    expect(readOffer(challenge(), { baseUrl: base })).not.toHaveProperty('realmNote');
  });

  it('refuses another method, an expired challenge, a bad request, no seller', () => {
    expect(readOffer(challenge({ method: 'tempo' }), { baseUrl: base })).toMatch(/only stripe\/charge/);
    expect(
      readOffer(challenge({ expires: new Date(Date.now() - 1).toISOString() }), { baseUrl: base }),
    ).toMatch(/expired/);
    expect(readOffer(challenge({ request: 'not base64!' }), { baseUrl: base })).toMatch(/not base64url JSON/);
    expect(readOffer(challenge({ request: request({ amount: '0.10' }) }), { baseUrl: base })).toMatch(
      /minor units/,
    );
    expect(readOffer(challenge({ request: request({ methodDetails: {} }) }), { baseUrl: base })).toMatch(
      /network id/,
    );
  });

  it('limits the token to the challenge expiry, or ten minutes when it has none', () => {
    const expires = new Date(Date.now() + 120_000);
    const offer = readOffer(challenge({ expires: expires.toISOString() }), { baseUrl: base }) as PaymentOffer;
    expect(offer.expiresAt.getTime()).toBe(expires.getTime());
    const now = Date.now();
    const open = readOffer(challenge({ expires: undefined }), { baseUrl: base, now }) as PaymentOffer;
    expect(open.expiresAt.getTime()).toBe(now + 10 * 60_000);
  });

  it('refuses an amount above the listed price, a foreign currency, or an unlisted model', () => {
    const offer = readOffer(challenge({ request: request({ amount: '40' }) }), {
      baseUrl: base,
    }) as PaymentOffer;
    const pricing = [{ model: 'flux-schnell', name: 'F', credit_cost: 1, price_usd: 0.1, price_cents: 10 }];
    expect(() => checkPrice(offer, 'flux-schnell', pricing)).toThrow(/\$0\.40/);
    expect(() => checkPrice(offer, 'flux-schnell', [{ ...pricing[0]!, price_cents: 40 }])).not.toThrow();
    expect(() => checkPrice(offer, 'imagen-3', pricing)).toThrow(ProviderError);
    const eur = readOffer(challenge({ request: request({ currency: 'eur' }) }), {
      baseUrl: base,
    }) as PaymentOffer;
    expect(() => checkPrice(eur, 'flux-schnell', pricing)).toThrow(/not match/);
  });
});

describe('credential and receipt', () => {
  it('echoes the challenge verbatim with the SPT, in the header the challenge names', () => {
    const c = challenge({ description: 'd', opaque: 'eyJ4IjoieSJ9' });
    const offer = readOffer(c, { baseUrl: 'https://www.pixelmuse.studio' }) as PaymentOffer;
    const built = buildCredential(offer, 'spt_test_1');
    expect(built.header).toBe('authorization');
    expect(built.value).toMatch(/^Payment [A-Za-z0-9_-]+$/);
    expect(decodeBase64urlJson(built.value.slice('Payment '.length))).toEqual({
      challenge: c,
      payload: { spt: 'spt_test_1' },
    });
    const alt = readOffer(challenge({ header: 'Payment-Authorization' }), {
      baseUrl: 'https://www.pixelmuse.studio',
    }) as PaymentOffer;
    expect(buildCredential(alt, 'spt_1').header).toBe('payment-authorization');
    const withExternal = readOffer(challenge({ request: request({ externalId: 'ord_1' }) }), {
      baseUrl: 'https://www.pixelmuse.studio',
    }) as PaymentOffer;
    expect(decodeBase64urlJson(buildCredential(withExternal, 'spt_1').value.slice(8))).toMatchObject({
      payload: { spt: 'spt_1', externalId: 'ord_1' },
    });
  });

  it('decodes a Payment-Receipt and treats a bad one as absent', () => {
    const good = {
      method: 'stripe',
      status: 'success',
      timestamp: '2026-01-01T00:00:00Z',
      reference: 'pi_1',
    };
    expect(decodeReceipt(encodeBase64urlJson(good))).toEqual(good);
    expect(decodeReceipt(encodeBase64urlJson({ ...good, status: 'failed' }))).toBeUndefined();
    expect(decodeReceipt('%%%')).toBeUndefined();
    expect(decodeReceipt(undefined)).toBeUndefined();
  });
});

describe('buying an image from the sandbox Pixelmuse with an SPT from the sandbox Stripe', () => {
  let sandbox: Sandbox;
  let pixelmuse: PixelmuseClient;
  let minted: number;
  const minter = (paymentMethod = 'pm_card_visa') => {
    const m = new SptMinter(
      { secretKey: 'rk_test_abc123', paymentMethod, apiBase: sandbox.urls.stripe },
      silentLogger,
    );
    return (offer: PaymentOffer) => {
      minted++;
      return m.mint(offer);
    };
  };
  beforeEach(async () => {
    minted = 0;
    sandbox = await startSandbox({ pixelmuse: { jobDelayMs: 50 } });
    pixelmuse = new PixelmuseClient({
      baseUrl: sandbox.urls.pixelmuse,
      log: silentLogger,
      apiKey: async () => undefined,
      http: { baseDelayMs: 5, maxDelayMs: 10 },
    });
  });
  afterEach(() => sandbox.close());

  const buy = (
    over: Partial<Parameters<typeof buyImage>[2]> = {},
    body = { prompt: 'a fox', model: 'flux-schnell' },
  ) =>
    buyImage(pixelmuse, body, {
      idempotencyKey: `k-${Math.random()}`,
      approvedMinor: 1_000_000,
      remember: async () => {},
      mint: minter(),
      ...over,
    });

  it('pays the listed price once and returns the image, the receipt and the PaymentIntent', async () => {
    const bought = await buy();
    expect(bought.kind).toBe('paid');
    if (bought.kind !== 'paid') return;
    const [intent] = [...sandbox.stripe.book.paymentIntents.values()];
    expect(intent).toMatchObject({ amount: 10, currency: 'usd', status: 'succeeded', refunded: false });
    expect(bought).toMatchObject({ amountMinor: 10, reference: intent?.id, replayed: false });
    expect(bought.receipt?.reference).toBe(intent?.id);
    expect(bought.image).toMatchObject({
      status: 'succeeded',
      price_cents: 10,
      payment_intent_id: intent?.id,
    });
    expect(bought.image.output?.[0]).toMatch(/\/cdn\/img_/);
    const generateCalls = sandbox.pixelmuse.requests.filter((r) => r.path === '/api/v1/images/generate');
    expect(generateCalls).toHaveLength(2);
    expect(generateCalls[0]?.headers['authorization']).toBeUndefined();
    expect(generateCalls[1]?.headers['authorization']).toMatch(/^Payment /);
    expect(generateCalls[1]?.body).toEqual(generateCalls[0]?.body);
    expect(generateCalls[1]?.headers['idempotency-key']).toBe(generateCalls[0]?.headers['idempotency-key']);
  });

  it('gets no free replay: an unpaid request with a paid key is a fresh 402 (the spec: it changes nothing)', async () => {
    const first = await buy({ idempotencyKey: 'same' });
    expect(first.kind).toBe('paid');
    const unpaid = await pixelmuse
      .generateWithPayment({ prompt: 'a fox', model: 'flux-schnell' }, { idempotencyKey: 'same' })
      .catch((e: unknown) => e);
    expect(unpaid).toMatchObject({ status: 402 });
    expect((unpaid as ProviderError).headers['www-authenticate']).toMatch(/^Payment /);
    expect(sandbox.stripe.book.paymentIntents.size).toBe(1);
  });

  it('pays nothing when the challenge asks more than the human approved', async () => {
    await expect(buy({ approvedMinor: 9 })).rejects.toMatchObject({ code: 'price_changed' });
    expect(minted).toBe(0);
    expect(sandbox.stripe.book.tokens.size).toBe(0);
  });

  it('reports a 500 after the paid request as an unknown outcome, not a refund', async () => {
    const failure = await buy({}, { prompt: 'explode please', model: 'imagen-3' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProviderError);
    expect(failure).toMatchObject({ status: 500 });
    expect((failure as ProviderError).facts.join(' ')).toMatch(/was sent and its outcome is unknown/);
    expect(isUnknownOutcome(failure)).toBe(true);
  });

  it('resends a kept credential with the same key instead of minting again, and not a third time', async () => {
    const key = `k-${Math.random()}`;
    const kept: SentPayment[] = [];
    const first = await buy({ idempotencyKey: key, remember: async (sent) => void kept.push(sent) });
    expect(kept).toHaveLength(1);
    const mintedBefore = minted;
    const again = await buy({
      idempotencyKey: key,
      earlier: kept[0],
      remember: async (s) => void kept.push(s),
    });
    expect(again).toMatchObject({ kind: 'paid', replayed: true });
    // The replay carries the image the first send paid for, and its receipt.
    expect(first.kind === 'paid' && again.kind === 'paid').toBe(true);
    if (first.kind === 'paid' && again.kind === 'paid') {
      expect(again.image).toEqual(first.image);
      expect(again.reference).toBe(first.reference);
    }
    expect(minted).toBe(mintedBefore);
    expect(kept[1]).toMatchObject({ sends: 2, payment: kept[0]!.payment });
    await expect(buy({ idempotencyKey: key, earlier: kept[1] })).rejects.toThrow(/already sent twice/);
    expect(sandbox.stripe.book.paymentIntents.size).toBe(1);
  });

  it('turns declines and 3-D Secure into payment errors that say what to do', async () => {
    await expect(buy({ mint: minter('pm_card_chargeDeclined') })).rejects.toMatchObject({
      status: 402,
      code: 'verification-failed',
      next: expect.stringMatching(/ATELIER_MPP_PAYMENT_METHOD/),
    });
    await expect(buy({ mint: minter('pm_card_authenticationRequired') })).rejects.toMatchObject({
      code: 'payment-action-required',
      next: expect.stringMatching(/3-D Secure/),
    });
  });

  it('gets payment-expired when the challenge runs out between consent and payment', async () => {
    await sandbox.close();
    let clock = Date.now();
    sandbox = await startSandbox({ pixelmuse: { mpp: { now: () => clock, challengeTtlMs: 60_000 } } });
    pixelmuse = new PixelmuseClient({
      baseUrl: sandbox.urls.pixelmuse,
      log: silentLogger,
      apiKey: async () => undefined,
    });
    await expect(
      buy({
        remember: async () => {
          clock += 61_000;
        },
      }),
    ).rejects.toMatchObject({ code: 'payment-expired', next: expect.stringMatching(/confirm promptly/) });
    expect(sandbox.stripe.book.paymentIntents.size).toBe(0);
  });

  it('rides out a 429 on the paid request: the unused credential is sent again', async () => {
    const bought = await buy({
      remember: async () =>
        sandbox.pixelmuse.inject({
          path: '/api/v1/images/generate',
          status: 429,
          headers: { 'Retry-After': '0' },
        }),
    });
    expect(bought.kind).toBe('paid');
    const paidAttempts = sandbox.pixelmuse.requests.filter((r) =>
      r.headers['authorization']?.startsWith('Payment'),
    );
    expect(paidAttempts).toHaveLength(2);
    expect(sandbox.stripe.book.paymentIntents.size).toBe(1);
  });

  it('limits MPP to 30 requests a minute per IP, before any payment', async () => {
    await sandbox.close();
    sandbox = await startSandbox({ pixelmuse: { mpp: { perMinute: 1 } } });
    pixelmuse = new PixelmuseClient({
      baseUrl: sandbox.urls.pixelmuse,
      log: silentLogger,
      apiKey: async () => undefined,
      http: { maxRetryWaitMs: 0 },
    });
    await expect(buy()).rejects.toMatchObject({ status: 429, retryAfterSeconds: expect.any(Number) });
    expect(sandbox.stripe.book.paymentIntents.size).toBe(0);
  });
});
