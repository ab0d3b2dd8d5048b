import { afterEach, describe, expect, it } from 'vitest';
import {
  SANDBOX_MODELSLAB_TOKEN,
  SANDBOX_STRIPE_KEY,
  startModelslabEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type StripeEmulator,
} from '../../src/sandbox/index.js';

// Answers are read field by field in assertions; a JSON tree type would only add casts.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

let stripe: StripeEmulator;
let ml: ModelslabEmulator;
afterEach(async () => {
  await Promise.all([ml?.close(), stripe?.close()]);
});

async function start(opts: Parameters<typeof startModelslabEmulator>[0] = {}) {
  stripe = await startStripeEmulator();
  ml = await startModelslabEmulator({ stripe, ...opts });
}

async function agents(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${ml.url}/api/agents/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${SANDBOX_MODELSLAB_TOKEN}`,
      'content-type': 'application/json',
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Body };
}

async function tokenize(number: string, key = stripe.publishableKey) {
  const res = await fetch(`${stripe.url}/v1/payment_methods`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` },
    body: new URLSearchParams({
      type: 'card',
      'card[number]': number,
      'card[exp_month]': '12',
      'card[exp_year]': '2034',
      'card[cvc]': '123',
    }),
  });
  return {
    status: res.status,
    requestId: res.headers.get('request-id'),
    body: (await res.json()) as Body,
  };
}

describe('Stripe emulator', () => {
  it("tokenizes Stripe's test cards with the publishable key (Basic or Bearer) and refuses others", async () => {
    await start();
    const ok = await tokenize('4242424242424242');
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ object: 'payment_method', card: { brand: 'visa', last4: '4242' } });
    expect(JSON.stringify(ok.body)).not.toContain('4242424242424242');
    expect(ok.requestId).toMatch(/^req_/);
    expect((await tokenize('4242424242424242', 'pk_test_wrong')).status).toBe(401);
    expect((await tokenize('1234567812345678')).body.error).toMatchObject({
      type: 'card_error',
      code: 'incorrect_number',
    });
    expect(stripe.cards.get(ok.body.id)?.behaviour).toEqual({ kind: 'succeeds' });
    expect(stripe.cards.get((await tokenize('4000000000000002')).body.id)?.behaviour).toEqual({
      kind: 'declines',
      declineCode: 'generic_decline',
    });
  });

  it('mounts the SPT routes over the same cards: a card tokenized here can back a Shared Payment Token', async () => {
    await start();
    const pm = (await tokenize('4242424242424242')).body.id as string;
    const res = await fetch(`${stripe.url}/v1/test_helpers/shared_payment/granted_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SANDBOX_STRIPE_KEY}`, 'stripe-version': '2026-07-29.preview' },
      body: new URLSearchParams({
        payment_method: pm,
        'usage_limits[currency]': 'usd',
        'usage_limits[max_amount]': '100',
        'usage_limits[expires_at]': String(Math.floor(Date.now() / 1000) + 600),
        'seller_details[network_id]': 'profile_test',
      }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toMatch(/^spt_test_/);
  });
});

describe('ModelsLab billing routes', () => {
  it('answers stripe-config without the envelope by default and with it on request', async () => {
    await start();
    expect((await agents('GET', '/billing/stripe-config')).body).toEqual({
      publishable_key: stripe.publishableKey,
      instructions: expect.any(String),
    });
    await ml.close();
    await stripe.close();
    await start({ envelopeStripeConfig: true });
    expect((await agents('GET', '/billing/stripe-config')).body.data.publishable_key).toBe(
      stripe.publishableKey,
    );
  });

  it('replays a mutation with the same key (flagged, no second charge) and refuses the key with another body', async () => {
    await start();
    const pm = (await tokenize('4242424242424242')).body.id as string;
    const first = await agents(
      'POST',
      '/wallet/fund',
      { amount: 25, payment_method_id: pm },
      { 'idempotency-key': 'k1' },
    );
    expect(first.status).toBe(200);
    // No answer is documented: the minimum, with the PaymentIntent that payments/{id}/status follows.
    expect(Object.keys(first.body.data).sort()).toEqual(['message', 'payment_intent_id']);
    expect(ml.accounts.users[0]!.walletUsd).toBe(50);
    expect(first.body.idempotency_replay).toBeUndefined();
    const again = await agents(
      'POST',
      '/wallet/fund',
      { payment_method_id: pm, amount: 25 },
      { 'idempotency-key': 'k1' },
    );
    expect(again.body).toMatchObject({
      idempotency_replay: true,
      data: { payment_intent_id: first.body.data.payment_intent_id },
    });
    expect(ml.accounts.users[0]!.walletUsd).toBe(50);
    const other = await agents(
      'POST',
      '/wallet/fund',
      { amount: 30, payment_method_id: pm },
      { 'idempotency-key': 'k1' },
    );
    expect(other.status).toBe(422);
    expect(other.body.error.code).toBe('idempotency_conflict');
    expect((await agents('POST', '/wallet/fund', { amount: 5, payment_method_id: pm })).body.error.code).toBe(
      'validation_error',
    );
  });

  it('declines (402, replayed as such) and asks for 3-D Secure (202) by test card', async () => {
    await start();
    const declines = (await tokenize('4000000000009995')).body.id as string;
    const d = await agents(
      'POST',
      '/wallet/fund',
      { amount: 25, payment_method_id: declines },
      { 'idempotency-key': 'd' },
    );
    expect(d.status).toBe(402);
    expect(d.body.error).toMatchObject({
      code: 'payment_declined',
      details: { decline_code: 'insufficient_funds' },
    });
    expect(
      (
        await agents(
          'POST',
          '/wallet/fund',
          { amount: 25, payment_method_id: declines },
          { 'idempotency-key': 'd' },
        )
      ).status,
    ).toBe(402);
    const needs3ds = (await tokenize('4000002760003184')).body.id as string;
    // subscriptions.mdx: 3-D Secure on a subscription is a 402 with decline_code, not the wallet's 202.
    const sub = await agents('POST', '/subscriptions', { plan_id: 20, payment_method_id: needs3ds });
    expect(sub.status).toBe(402);
    expect(sub.body.error.details).toMatchObject({ decline_code: 'authentication_required' });
    expect(ml.accounts.users[0]!.subscriptions).toHaveLength(0);
    const r = await agents('POST', '/wallet/fund', { amount: 25, payment_method_id: needs3ds });
    expect(r.status).toBe(202);
    const pi = r.body.data.payment.payment_intent_id as string;
    expect(r.body.data.payment).toMatchObject({
      status: 'requires_action',
      client_secret: expect.stringMatching(/_secret_/),
    });
    expect((await agents('GET', `/payments/${pi}/status`)).body.data.status).toBe('pending');
    expect(ml.billing.authenticate(pi)).toBe(true);
    expect((await agents('GET', `/payments/${pi}/status`)).body.data.status).toBe('succeeded');
  });

  it('answers subscriptions with the documented fields only: no amount or PaymentIntent to book from', async () => {
    await start();
    const pm = (await tokenize('4242424242424242')).body.id as string;
    await agents('POST', '/billing/payment-methods', { payment_method_id: pm });
    const created = await agents('POST', '/subscriptions', { plan_id: 20, payment_method_id: pm });
    expect(created.status).toBe(201);
    // subscriptions.mdx "Example response (headless)", key for key.
    expect(created.body.data).toEqual({
      message: 'Subscription created.',
      subscription: { id: expect.any(Number), plan_id: 20, feature: 'imagen', status: 'active' },
      stripe_subscription_id: expect.stringMatching(/^sub_/),
      status: 'active',
    });
    const id = created.body.data.subscription.id as number;
    const changed = await agents('PUT', `/subscriptions/${id}`, { new_plan_id: 21 });
    // No answer is documented for a plan change: the minimum.
    expect(changed.status).toBe(200);
    expect(changed.body.data).toEqual({ message: 'Subscription plan updated.' });
    const status = (await agents('GET', `/subscriptions/${id}/status`)).body.data;
    // The status example's fields: the plan by id, no name.
    expect(Object.keys(status).sort()).toEqual([
      'current_period_end',
      'current_period_start',
      'id',
      'plan_id',
      'status',
      'stripe_subscription_id',
    ]);
    expect(status).toMatchObject({ plan_id: 21, status: 'active' });
    // Pause and resume answer nothing documented: a message.
    expect((await agents('POST', `/subscriptions/${id}/pause`)).body.data).toEqual({
      message: 'Subscription paused.',
    });
    // The documented body only: a card is not part of it.
    const withCard = await agents('PUT', `/subscriptions/${id}`, { plan_id: 21 });
    expect(withCard.status).toBe(422);
  });

  it('never accepts raw card data, and counts mutations against agent-billing (15/min)', async () => {
    await start();
    const raw = await agents('POST', '/billing/payment-methods', { payment_method_id: '4242424242424242' });
    expect(raw.status).toBe(422);
    let last = 0;
    for (let i = 0; i < 15; i++)
      last = (await agents('POST', '/billing/payment-methods', { payment_method_id: 'pm_card_visa' })).status;
    expect(last).toBe(429);
    const limited = await agents('POST', '/billing/payment-methods', { payment_method_id: 'pm_card_visa' });
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await agents('GET', '/billing/payment-methods')).status).toBe(200);
  });

  it('serves a checkout page whose Pay button completes the session; confirm says not paid until then', async () => {
    await start();
    const link = (await agents('POST', '/billing/payment-link', { purpose: 'fund', amount: 20 })).body.data;
    expect(link).toMatchObject({ session_id: expect.stringMatching(/^cs_test_/), amount: 20 });
    const early = await agents('POST', '/wallet/confirm-checkout', { session_id: link.session_id });
    // Undocumented: a plain 400 whose words a client cannot match on.
    expect(early.status).toBe(400);
    expect(early.body.error.message).not.toMatch(/paid|pending|incomplete/i);
    const page = await (await fetch(link.payment_url)).text();
    expect(page).toContain('Pay $20.00');
    await fetch(`${ml.url}/sandbox/checkout/${link.session_id}/pay`, { method: 'POST' });
    const paid = await agents('POST', '/wallet/confirm-checkout', { session_id: link.session_id });
    // The documented minimum: no amount, balance or already_confirmed for a client to lean on.
    expect(paid.body.data).toEqual({ message: 'Wallet funded.' });
    const twice = await agents('POST', '/wallet/confirm-checkout', { session_id: link.session_id });
    expect(twice.body.data).toEqual({ message: 'Wallet funded.' });
    expect(ml.accounts.users[0]!.walletUsd).toBe(45);
  });
});
