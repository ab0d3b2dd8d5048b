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
