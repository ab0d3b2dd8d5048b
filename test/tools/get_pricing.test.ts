import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

describe('get_pricing', () => {
  it('shows per-model USD prices and the credit packages', async () => {
    h = await startHarness({ apiKey: null });
    const text = textOf(await h.call('get_pricing'));
    expect(text).toContain('Pixelmuse pricing (1 credit = $0.10');
    expect(text).toContain('- nano-banana-pro (');
    expect(text).toMatch(/nano-banana-pro \([^)]+\): 4 credits = \$0\.40 per image/);
    expect(text).toContain('- credit_pack (Credit Pack): 100 credits for $10.00');
    expect(text).toMatch(
      /MPP \(pay per image in USD, no account\): the same USD prices.*not configured here/,
    );
  });

  it('reports a provider outage as an error with the status', async () => {
    h = await startHarness();
    h.emulator.inject({ path: '/api/v1/pricing', status: 503, times: 10 });
    const result = await h.call('get_pricing');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Pixelmuse failed: service_unavailable \(HTTP 503, request req_\w+\)\./);
    expect(textOf(result)).toContain('Tried 4 times');
  });
});
