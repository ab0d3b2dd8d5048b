import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SANDBOX_MODELSLAB_EMAIL,
  SANDBOX_MODELSLAB_TOKEN,
  startModelslabEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type StripeEmulator,
} from '../../src/sandbox/index.js';

// The account-administration routes at the HTTP level: what the documents allow is answered in the envelope,
// what they do not is refused (422 with the field), billing mutations replay by Idempotency-Key.

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Body = Record<string, any>;

let stripe: StripeEmulator;
let ml: ModelslabEmulator;
beforeEach(async () => {
  stripe = await startStripeEmulator();
  ml = await startModelslabEmulator({ stripe });
});
afterEach(async () => {
  await Promise.all([ml?.close(), stripe?.close()]);
});

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
  return { status: res.status, body: (await res.json()) as Body };
}

const fields = (r: { body: Body }) => Object.keys(r.body.error?.details ?? {});

describe('ModelsLab emulator: account administration', () => {
  it('needs the Bearer token on every admin route but the password ones', async () => {
    for (const [method, path] of [
      ['GET', '/teams'],
      ['GET', '/billing/invoices'],
      ['GET', '/billing/info'],
      ['PUT', '/wallet/auto-funding'],
      ['GET', '/wallet/coupons/validate?coupon_code=SPRING'],
      ['PATCH', '/me'],
    ]) {
      const r = await agents(method!, path!, undefined, { authorization: '' });
      expect([path, r.status, r.body.error.code]).toEqual([path, 401, 'unauthenticated']);
    }
    const forgot = await agents(
      'POST',
      '/auth/forgot-password',
      { email: 'nobody@example.com' },
      { authorization: '' },
    );
    expect(forgot.status).toBe(200);
    expect(forgot.body.data).toEqual({ message: 'If the account exists, a password reset email was sent.' });
  });

  it('refuses fields the documents do not name, and values they do not allow', async () => {
    expect(fields(await agents('PATCH', '/me', { about: 'x' }))).toEqual(['about']);
    expect(fields(await agents('PATCH', '/me/preferences', { nsfw_enabled: true }))).toEqual([
      'nsfw_enabled',
    ]);
    expect(fields(await agents('PATCH', '/me/preferences', { nsfw_content: 'yes' }))).toEqual([
      'nsfw_content',
    ]);
    expect((await agents('PATCH', '/me', {})).status).toBe(422);
    expect(fields(await agents('PUT', '/billing/info', { city: 'Berlin' }))).toEqual(['city']);
    expect(fields(await agents('PUT', '/billing/info', { address_country: 'Germany' }))).toEqual([
      'address_country',
    ]);
    expect(fields(await agents('PUT', '/billing/info', { tax_id: 'X', tax_id_type: 'vat' }))).toEqual([
      'tax_id_type',
    ]);
    expect(fields(await agents('PUT', '/wallet/auto-funding', { amount: 50, threshold: 10 }))).toEqual([
      'auto_charge_amount',
      'charge_threshold',
      'payment_method_id',
    ]);
    expect(
      fields(await agents('PUT', '/wallet/auto-funding', { auto_charge_amount: 4, charge_threshold: 0.5 })),
    ).toEqual(['auto_charge_amount', 'charge_threshold', 'payment_method_id']);
    expect(fields(await agents('GET', '/wallet/coupons/validate?code=SPRING'))).toEqual(['coupon_code']);
    const bonus = await agents('POST', '/wallet/coupons/redeem', {
      coupon_code: 'SPRING',
      purchase_amount: 20,
    });
    expect([bonus.status, bonus.body.error.code]).toEqual([422, 'not_a_bonus_coupon']);
    expect(fields(await agents('PUT', '/teams/1', { invite_status: 'active' }))).toEqual([]);
    await agents('POST', '/teams', { email: 'ada@example.com' });
    expect(fields(await agents('PUT', '/teams/1', { invite_status: 'active', permissions: 'all' }))).toEqual([
      'permissions',
      'invite_status',
    ]);
    expect(fields(await agents('POST', '/teams', { email: 'ada@example.com' }))).toEqual(['email']);
    expect(fields(await agents('PUT', '/api-keys/2', { name: '' }))).toEqual(['name']);
    const mismatch = await agents(
      'POST',
      '/auth/reset-password',
      { email: SANDBOX_MODELSLAB_EMAIL, token: 't', password: 'abcdefgh', password_confirmation: 'abcdefgX' },
      { authorization: '' },
    );
    expect(mismatch.body.error.details).toEqual({ password: ['The password confirmation does not match.'] });
  });

  it('replays an auto-funding change and a redemption by Idempotency-Key, and refuses a reused key', async () => {
    const pm = (
      (await (
        await fetch(`${stripe.url}/v1/payment_methods`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stripe.publishableKey}` },
          body: new URLSearchParams({
            type: 'card',
            'card[number]': '4242424242424242',
            'card[exp_month]': '12',
            'card[exp_year]': '2034',
            'card[cvc]': '123',
          }),
        })
      ).json()) as Body
    ).id as string;
    await agents('POST', '/billing/payment-methods', { payment_method_id: pm });
    const body = { auto_charge_amount: 25, charge_threshold: 5 };
    const first = await agents('PUT', '/wallet/auto-funding', body, { 'idempotency-key': 'k1' });
    expect(first.body.data.auto_funding).toMatchObject({
      enabled: true,
      auto_charge_amount: 25,
      payment_method_id: pm,
    });
    const again = await agents('PUT', '/wallet/auto-funding', body, { 'idempotency-key': 'k1' });
    expect(again.body.idempotency_replay).toBe(true);
    const other = await agents(
      'PUT',
      '/wallet/auto-funding',
      { ...body, charge_threshold: 6 },
      { 'idempotency-key': 'k1' },
    );
    expect([other.status, other.body.error.code]).toEqual([422, 'idempotency_conflict']);

    const user = ml.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!;
    const redeem = () =>
      agents('POST', '/wallet/coupons/redeem', { coupon_code: 'spring' }, { 'idempotency-key': 'c1' });
    expect((await redeem()).body.data).toMatchObject({ coupon_code: 'SPRING', amount: 10, balance: 35 });
    expect((await redeem()).body).toMatchObject({ idempotency_replay: true, data: { balance: 35 } });
    expect(user.walletUsd).toBe(35);
    expect((await agents('GET', '/billing/invoices')).body.data).toHaveLength(1);
  });

  it('serves an invoice PDF only at its unguessable link', async () => {
    const [invoice] = (await agents('GET', '/billing/invoices')).body.data as Body[];
    const links = (await agents('GET', `/billing/invoices/${invoice!.id}/pdf`)).body.data;
    const pdf = await fetch(links.invoice_pdf);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const text = Buffer.from(await pdf.arrayBuffer()).toString('latin1');
    expect(text).toMatch(
      /^%PDF-1\.4\n[\s\S]*ModelsLab sandbox invoice SBX-\d+: \$25\.00 paid[\s\S]*%%EOF\n$/,
    );
    expect((await fetch(links.invoice_pdf.replace(/[0-9a-f]{32}/, '0'.repeat(32)))).status).toBe(404);
    expect((await fetch(links.receipt_url)).status).toBe(200);
  });
});
