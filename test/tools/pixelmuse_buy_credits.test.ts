import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/spend/ledger.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const checkouts = (h: Harness) =>
  h.emulator.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/billing/checkout');

describe('pixelmuse_buy_credits', () => {
  it('returns a checkout link and charges nothing itself', async () => {
    h = await startHarness({ emulator: { credits: 0 } });
    const text = textOf(await h.call('pixelmuse_buy_credits'));
    expect(text).toContain('Checkout for Credit Pack: 100 credits for $10.00.');
    const url = new RegExp(`${h.emulator.url}/checkout/(cs_test_\\w+)`).exec(text);
    expect(url).not.toBeNull();
    expect(h.emulator.credits).toBe(0);
    // The human pays on the (sandbox) checkout page; then the balance shows it.
    await fetch(url![0], { method: 'POST' });
    expect(textOf(await h.call('account_status'))).toContain('- balance: 100 credits');
  });

  it('refuses a package Pixelmuse does not list, naming those it does, before any checkout', async () => {
    h = await startHarness();
    const result = await h.call('pixelmuse_buy_credits', { package: 'mega' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Invalid input: Pixelmuse offers no credit package "mega" \(it offers credit_pack\)/,
    );
    expect(textOf(result)).toMatch(/Next: .*get_pricing/);
    expect(checkouts(h)).toHaveLength(0);
  });
});

describe('pixelmuse_buy_credits keeps to the spending caps', () => {
  it('refuses a package above ATELIER_MAX_USD_PER_CALL before the checkout is created', async () => {
    h = await startHarness({ config: { maxUsdPerCall: 5 } });
    const result = await h.call('pixelmuse_buy_credits');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Not charged: \$10\.00 is above the per-call cap ATELIER_MAX_USD_PER_CALL \(\$5\.00\)\./,
    );
    expect(textOf(result)).toMatch(/\nNext: .*ATELIER_MAX_USD_PER_CALL/);
    // The price was read, the checkout never asked for.
    expect(h.emulator.requests.some((r) => r.path === '/api/v1/billing/packages')).toBe(true);
    expect(checkouts(h)).toHaveLength(0);
  });

  it("refuses a package above what is left of today's ATELIER_MAX_USD_PER_DAY", async () => {
    h = await startHarness({ config: { maxUsdPerCall: 30, maxUsdPerDay: 40 } });
    await openLedger(join(h.home, 'spend')).record(
      {
        time: new Date().toISOString(),
        provider: 'modelslab',
        operation: 'modelslab.wallet.fund',
        amount: 35,
        currency: 'USD',
        reference: 'pi_today',
        replay: false,
        description: 'add $35.00 to the ModelsLab wallet',
      },
      { idempotencyKey: 'today' },
    );
    const result = await h.call('pixelmuse_buy_credits');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Not charged: \$10\.00 would pass the daily cap ATELIER_MAX_USD_PER_DAY \(\$40\.00\): \$35\.00 spent today \(UTC\), \$5\.00 left\./,
    );
    expect(checkouts(h)).toHaveLength(0);
  });

  it('creates the checkout when the package fits the caps', async () => {
    h = await startHarness({ config: { maxUsdPerCall: 10, maxUsdPerDay: 10 } });
    const result = await h.call('pixelmuse_buy_credits');
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toContain('Checkout for Credit Pack: 100 credits for $10.00.');
    expect(checkouts(h)).toHaveLength(1);
  });

  // A price the caps cannot be checked against: NaN and a negative amount would slip past a "greater than" test.
  it.each([
    ['missing', undefined],
    ['null', null],
    ['a string', '10'],
    ['zero', 0],
    ['negative', -10],
    ['an object', { amount: 10 }],
  ])('refuses a package whose listed price is %s, before any checkout', async (_, price) => {
    h = await startHarness({ config: { maxUsdPerCall: 5 } });
    h.emulator.inject({
      method: 'GET',
      path: '/api/v1/billing/packages',
      rewrite: (body) => ({
        data: (body.data as Array<Record<string, unknown>>).map((p) => ({ ...p, price_usd: price })),
      }),
    });
    const result = await h.call('pixelmuse_buy_credits');
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(
      /^Pixelmuse sent an answer that could not be used: unexpected_response \(HTTP 200, request req_\w+\)\./,
    );
    expect(text).toContain(
      `Pixelmuse lists credit_pack at a price of ${JSON.stringify(price) ?? 'nothing'}, not a positive amount in USD`,
    );
    expect(text).toMatch(/\nNext: /);
    expect(text).not.toContain('[object Object]');
    expect(checkouts(h)).toHaveLength(0);
  });

  it('refuses a price too large for a number (1e999 parses as Infinity)', async () => {
    h = await startHarness();
    h.emulator.inject({
      method: 'GET',
      path: '/api/v1/billing/packages',
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"data":[{"name":"credit_pack","label":"Credit Pack","credits":100,"bonus_credits":0,"price_usd":1e999,"price_cents":1000}]}',
    });
    const result = await h.call('pixelmuse_buy_credits');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/unexpected_response \(HTTP 200/);
    expect(checkouts(h)).toHaveLength(0);
  });
});
