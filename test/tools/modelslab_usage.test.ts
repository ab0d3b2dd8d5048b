import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_MODELSLAB_KEY } from '../../src/sandbox/index.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

describe('modelslab_usage', () => {
  it('shows the summary, products and history of what the account spent', async () => {
    h = await startHarness({ modelslab: { walletUsd: 5 } });
    const user = h.modelslab.accounts.byApiKey(SANDBOX_MODELSLAB_KEY)!;
    h.modelslab.accounts.debit(user, 0.5, 'generation');
    h.modelslab.accounts.debit(user, 0.25, 'generation');
    const summary = textOf(await h.call('modelslab_usage', {}));
    expect(summary).toContain('- requests: 2');
    expect(summary).toContain('- cost_usd: 0.75');
    expect(summary).toContain('- wallet: balance 4.25, currency USD');
    expect(textOf(await h.call('modelslab_usage', { view: 'products' }))).toContain(
      '- product imagen, used 2, cost_usd 0.75',
    );
    const history = textOf(await h.call('modelslab_usage', { view: 'history', limit: 1 }));
    expect(history).toMatch(
      /^ModelsLab usage history \(1 rows, newest first\):\n- date \S+, product imagen, requests 1, cost_usd 0\.25$/,
    );
    const query = h.modelslab.requests.at(-1)!.query;
    expect(query).toEqual({ limit: '1' });
  });

  it('passes from/to through and reports a 422 on a bad date', async () => {
    h = await startHarness();
    const result = await h.call('modelslab_usage', { view: 'history', from: '2026-13-40' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('from: The from is not a valid date (YYYY-MM-DD).');
  });
});
