import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log.js';
import {
  decodeBase64urlJson,
  encodeBase64urlJson,
  parsePaymentChallenges,
  readOffer,
  type PaymentOffer,
} from '../../src/providers/pixelmuse/mpp.js';
import { readSptSettings } from '../../src/providers/mpp-settings.js';
import { SptMinter } from '../../src/providers/stripe.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/index.js';

let sandbox: Sandbox;
beforeEach(async () => {
  sandbox = await startSandbox({ pixelmuse: { jobDelayMs: 20 } });
});
afterEach(() => sandbox.close());

const body = { prompt: 'a cat', model: 'nano-banana-pro' };

async function generate(headers: Record<string, string> = {}, payload: unknown = body) {
  const res = await fetch(`${sandbox.urls.pixelmuse}/api/v1/images/generate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(payload),
  });
  return { res, json: (await res.json()) as Record<string, unknown> };
}

async function offer(): Promise<PaymentOffer> {
  const { res } = await generate();
  const [challenge] = parsePaymentChallenges(res.headers.get('www-authenticate') ?? '');
  return readOffer(challenge!, { baseUrl: sandbox.urls.pixelmuse }) as PaymentOffer;
}

async function spt(o: PaymentOffer, paymentMethod = 'pm_card_visa'): Promise<string> {
  return new SptMinter(
    { secretKey: 'rk_test_seller1', paymentMethod, apiBase: sandbox.urls.stripe },
    silentLogger,
  ).mint(o);
}

const credential = (o: PaymentOffer, token: string, challenge = o.challenge) =>
  `Payment ${encodeBase64urlJson({ challenge, payload: { spt: token } })}`;

describe('the sandbox Pixelmuse sells images over MPP', () => {
  it('challenges with an HMAC-bound stripe/charge for the model price, realm = its hostname', async () => {
    const { res, json } = await generate();
    expect(res.status).toBe(402);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(json).toMatchObject({ type: 'https://paymentauth.org/problems/payment-required', status: 402 });
    const o = await offer();
    expect(o.challenge).toMatchObject({ realm: '127.0.0.1', method: 'stripe', intent: 'charge' });
    expect(o.challenge.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeBase64urlJson(o.challenge.request)).toEqual({
      amount: '40',
      currency: 'usd',
      description: 'Nano Banana Pro image',
      methodDetails: { networkId: 'profile_test_pixelmuse', paymentMethodTypes: ['card'] },
    });
    expect(Date.parse(o.challenge.expires!) - Date.now()).toBeGreaterThan(4 * 60_000);
  });

  it('settles once, answers 201 with a receipt, and refuses the same credential again', async () => {
    const o = await offer();
    const auth = credential(o, await spt(o));
    const paid = await generate({ authorization: auth });
    expect(paid.res.status).toBe(201);
    const receipt = decodeBase64urlJson(paid.res.headers.get('payment-receipt')!) as Record<string, string>;
    expect(receipt).toMatchObject({
      status: 'success',
      method: 'stripe',
      reference: paid.json.payment_intent_id,
    });
    expect(paid.json).toMatchObject({ status: 'succeeded', price_cents: 40, price_usd: 0.4 });
    expect(paid.json).not.toHaveProperty('credits_charged');
    const again = await generate({ authorization: auth });
    expect(again.res.status).toBe(402);
    expect(again.json.type).toBe('https://paymentauth.org/problems/invalid-challenge');
    expect(again.res.headers.get('www-authenticate')).toMatch(/^Payment id="/);
    expect(sandbox.stripe.book.paymentIntents.size).toBe(1);
  });

  it('refuses a settled credential under another key as a replay, and replays the paid 201 under its own key', async () => {
    const o = await offer();
    const auth = credential(o, await spt(o));
    const paid = await generate({ authorization: auth, 'idempotency-key': 'k1' });
    expect(paid.res.status).toBe(201);
    const replayed = await generate({ authorization: auth, 'idempotency-key': 'k1' });
    expect(replayed.res.status).toBe(201);
    expect(replayed.res.headers.get('x-idempotent-replayed')).toBe('true');
    expect(replayed.res.headers.get('payment-receipt')).toBe(paid.res.headers.get('payment-receipt'));
    expect(replayed.json).toEqual(paid.json);
    const elsewhere: Array<Record<string, string>> = [
      { authorization: auth, 'idempotency-key': 'k2' },
      { authorization: auth },
    ];
    for (const headers of elsewhere) {
      const again = await generate(headers);
      expect(again.res.status).toBe(402);
      expect(again.json).toMatchObject({ type: 'https://paymentauth.org/problems/invalid-challenge' });
      expect(again.json.detail).toMatch(/already used/);
    }
    expect(sandbox.stripe.book.paymentIntents.size).toBe(1);
  });

  it('hands a paid key’s answer to no credential it did not issue', async () => {
    const o = await offer();
    await generate({ authorization: credential(o, await spt(o)), 'idempotency-key': 'k1' });
    const forged = { ...o.challenge, id: 'A'.repeat(43) };
    for (const authorization of [credential(o, 'spt_x', forged), 'Payment bm90IGpzb24']) {
      const answer = await generate({ authorization, 'idempotency-key': 'k1' });
      expect(answer.res.status, authorization).toBe(402);
      expect(answer.json).not.toHaveProperty('output');
      expect(answer.res.headers.get('x-idempotent-replayed')).toBeNull();
    }
  });

  it('refuses an altered challenge, an unreadable credential, and a cheaper challenge for a dearer model', async () => {
    const o = await offer();
    const token = await spt(o);
    const tampered = { ...o.challenge, request: encodeBase64urlJson({ amount: '1', currency: 'usd' }) };
    expect((await generate({ authorization: credential(o, token, tampered) })).json.type).toMatch(
      /invalid-challenge$/,
    );
    expect((await generate({ authorization: 'Payment %%%' })).json.type).toMatch(/payment-required$/);
    expect((await generate({ authorization: 'Payment bm90IGpzb24' })).json.type).toMatch(
      /malformed-credential$/,
    );
    const cheap = await generate({}, { prompt: 'a cat', model: 'imagen-3' });
    const [cheapChallenge] = parsePaymentChallenges(cheap.res.headers.get('www-authenticate')!);
    const cheapOffer = readOffer(cheapChallenge!, { baseUrl: sandbox.urls.pixelmuse }) as PaymentOffer;
    const dear = await generate({ authorization: credential(cheapOffer, await spt(cheapOffer)) });
    expect(dear.json.type).toMatch(/payment-insufficient$/);
    expect(sandbox.stripe.book.paymentIntents.size).toBe(0);
  });

  it('moderates and validates before asking for money', async () => {
    expect((await generate({}, { prompt: 'forbidden thing', model: 'imagen-3' })).res.status).toBe(422);
    expect((await generate({}, { prompt: 'x', model: 'nope' })).res.status).toBe(400);
  });
});

describe('the sandbox Stripe mints SPTs and settles them once', () => {
  it('mints with exactly the usage limits and seller asked for, then consumes the token', async () => {
    const o = await offer();
    const token = await spt(o);
    expect(sandbox.stripe.book.tokens.get(token)).toMatchObject({
      object: 'shared_payment.granted_token',
      payment_method: 'pm_card_visa',
      usage_limits: { currency: 'usd', max_amount: 40, expires_at: Math.floor(o.expiresAt.getTime() / 1000) },
      seller_details: { network_id: 'profile_test_pixelmuse' },
      status: 'active',
    });
    const confirm = (amount: number, key?: string) =>
      sandbox.stripe.book.confirm({
        spt: token,
        amount,
        currency: 'usd',
        networkId: 'profile_test_pixelmuse',
        idempotencyKey: key,
      });
    expect(confirm(41).status).toBe(400);
    expect(
      sandbox.stripe.book.confirm({ spt: token, amount: 40, currency: 'usd', networkId: 'profile_other' })
        .status,
    ).toBe(400);
    const first = confirm(40, 'k');
    expect(first).toMatchObject({ status: 200, body: { status: 'succeeded', amount: 40 } });
    expect(confirm(40, 'k').headers).toMatchObject({ 'Idempotent-Replayed': 'true' });
    expect(confirm(40).body).toMatchObject({ error: { code: 'shared_payment_token_inactive' } });
  });

  it('refuses an unknown card, a missing preview version and a bad key over HTTP', async () => {
    const o = await offer();
    await expect(spt(o, 'pm_nope')).rejects.toMatchObject({
      provider: 'stripe',
      status: 400,
      code: 'resource_missing',
    });
    const post = (headers: Record<string, string>) =>
      fetch(`${sandbox.urls.stripe}/v1/shared_payment/issued_tokens`, { method: 'POST', headers, body: '' });
    expect((await post({ authorization: 'Bearer sk_test_x1' })).status).toBe(400);
    expect((await post({ authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('issues live-mode tokens to the seller profile through issued_tokens', async () => {
    const o = await offer();
    await new SptMinter(
      { secretKey: 'rk_live_buyer1', paymentMethod: 'pm_card_visa', apiBase: sandbox.urls.stripe },
      silentLogger,
    ).mint(o);
    const [token] = [...sandbox.stripe.book.tokens.values()];
    expect(token).toMatchObject({
      object: 'shared_payment.issued_token',
      seller_details: { network_business_profile: 'profile_test_pixelmuse' },
    });
  });
});

describe('MPP payment settings', () => {
  it('needs both variables, recommends a restricted key, and rejects malformed values', () => {
    const base = 'https://api.stripe.com';
    expect(readSptSettings({}, base)).toEqual({});
    expect(readSptSettings({ ATELIER_STRIPE_SECRET_KEY: 'rk_live_a1' }, base).problem).toMatch(
      /ATELIER_MPP_PAYMENT_METHOD/,
    );
    expect(readSptSettings({ ATELIER_MPP_PAYMENT_METHOD: 'pm_1' }, base).problem).toMatch(
      /ATELIER_STRIPE_SECRET_KEY/,
    );
    expect(
      readSptSettings({ ATELIER_STRIPE_SECRET_KEY: 'pk_live_a1', ATELIER_MPP_PAYMENT_METHOD: 'pm_1' }, base)
        .problem,
    ).toMatch(/not a Stripe secret or restricted key/);
    const rk = readSptSettings(
      { ATELIER_STRIPE_SECRET_KEY: 'rk_live_a1', ATELIER_MPP_PAYMENT_METHOD: 'pm_1' },
      base,
    );
    expect(rk).toEqual({
      settings: { secretKey: 'rk_live_a1', paymentMethod: 'pm_1', apiBase: base },
      warning: undefined,
    });
    const sk = readSptSettings(
      { ATELIER_STRIPE_SECRET_KEY: 'sk_live_a1', ATELIER_MPP_PAYMENT_METHOD: 'pm_1' },
      base,
    );
    expect(sk.warning).toMatch(/restricted key \(rk_/);
  });
});
