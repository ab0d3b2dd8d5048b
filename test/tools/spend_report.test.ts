import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/spend/ledger.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const today = new Date().toISOString().slice(0, 10);
const entry = (over: Record<string, unknown>) => ({
  time: new Date().toISOString(),
  provider: 'modelslab',
  operation: 'modelslab.wallet.fund',
  amount: 25,
  currency: 'USD',
  reference: 'pi_1',
  replay: false,
  description: 'add $25.00 to the ModelsLab wallet',
  ...over,
});

describe('spend_report', () => {
  it('totals the ledger per day and provider and lists each charge', async () => {
    h = await startHarness({ config: { maxUsdPerDay: 80, maxUsdPerCall: 30 } });
    const ledger = openLedger(join(h.home, 'spend'));
    await ledger.record(entry({}), { idempotencyKey: 'a' });
    await ledger.record(entry({ reference: 'pi_2', amount: 10, replay: true }), { idempotencyKey: 'b' });
    await ledger.record(
      entry({ provider: 'pixelmuse', operation: 'pixelmuse.mpp', reference: 'pi_3', amount: 0.04 }),
      {
        idempotencyKey: 'c',
      },
    );
    await ledger.record(entry({ time: '2020-01-01T00:00:00.000Z', reference: 'pi_old' }), {
      idempotencyKey: 'd',
    });

    const text = textOf(await h.call('spend_report'));
    expect(text).toContain(`Spend today (${today} UTC): $35.04 of $80.00 (ATELIER_MAX_USD_PER_DAY)`);
    expect(text).toContain('at most $30.00 per call');
    expect(text).toContain(`- ${today} modelslab: $35.00 (2 charges)`);
    expect(text).toContain(`- ${today} pixelmuse: $0.04 (1 charge)`);
    expect(text).toMatch(/modelslab\.wallet\.fund \$10\.00 pi_2 \(idempotent replay/);
    expect(text).not.toContain('pi_old');

    const only = textOf(await h.call('spend_report', { provider: 'pixelmuse' }));
    expect(only).not.toContain('pi_1');
    expect(only).toContain('pi_3');
    expect(textOf(await h.call('spend_report', { days: 366 * 1, provider: 'modelslab' }))).toContain('pi_1');
  });

  it('says when nothing was charged, and account_status shows the same day against the caps', async () => {
    h = await startHarness();
    expect(textOf(await h.call('spend_report'))).toContain('No charges in the last 30 day(s).');
    expect(textOf(await h.call('account_status'))).toContain(
      `Spend today (${today} UTC): $0.00 of $100.00 (ATELIER_MAX_USD_PER_DAY); at most $50.00 per call; every charge needs approval.`,
    );
  });
});

describe('a ledger line that cannot be read', () => {
  it('blocks every charge with an error naming the file and line, and spend_report shows it', async () => {
    h = await startHarness();
    const dir = join(h.home, 'spend');
    await openLedger(dir).record(entry({}), { idempotencyKey: 'a' });
    await appendFile(join(dir, 'ledger.jsonl'), `${JSON.stringify(entry({ amount: 'abc' }))}\n`);
    await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_card_visa' });

    const fund = await h.call('modelslab_fund_wallet', { amount_usd: 10 });
    expect(fund.isError).toBe(true);
    expect(textOf(fund)).toMatch(
      /^Not charged: The spend ledger has a line that cannot be read \(.*ledger\.jsonl:2: amount "abc"\)/,
    );
    expect(textOf(fund)).not.toMatch(/Unexpected error/);
    const report = textOf(await h.call('spend_report'));
    expect(report).toMatch(/^CHARGES ARE BLOCKED: .*\n- .*ledger\.jsonl:2: amount "abc"/);
    expect(report).toContain('pi_1');
    expect(h.modelslab.requests.filter((r) => r.path.endsWith('/wallet/fund'))).toHaveLength(0);
  });

  it('a torn 3-D Secure record names its file instead of "Unexpected error"', async () => {
    h = await startHarness();
    await mkdir(join(h.home, 'spend', 'pending'), { recursive: true });
    await writeFile(join(h.home, 'spend', 'pending', 'pi_x.json'), '{"amount":');
    await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_card_visa' });
    const fund = await h.call('modelslab_fund_wallet', { amount_usd: 10 });
    expect(textOf(fund)).toMatch(/^Not charged: A spend record \(.*pending\/pi_x\.json\) cannot be read/);
  });
});

it('account_status still answers, and says what blocks charges', async () => {
  h = await startHarness();
  const dir = join(h.home, 'spend');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ledger.jsonl'), '{"torn\n');
  const status = await h.call('account_status');
  expect(status.isError).toBeFalsy();
  expect(textOf(status)).toMatch(
    /CHARGES ARE BLOCKED: The spend ledger has a line that cannot be read \(.*ledger\.jsonl:1/,
  );
});
