import * as z from 'zod';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { STATE_TTL_MS } from '../../src/mcp/round-trip.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { modernMeta, textOf } from '../helpers/modern-client.js';

// An expired requestState, through the server's tools/call with the ModelsLab emulator: the clock moves past the
// state's ten minutes between the question and the retry, and the retry charges nothing.

let h: Harness | undefined;

afterEach(async () => {
  vi.useRealTimers();
  await h?.close();
  h = undefined;
});

const Result = z.looseObject({});
const caps = { elicitation: { form: {} } };

describe('an expired requestState', () => {
  it('is refused with what to do, and nothing is sent to the provider', async () => {
    h = await startHarness();
    const harness = h;
    const saved = textOf(
      await harness.call('modelslab_add_payment_method', {
        card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '731' },
      }),
    );
    expect(saved).toMatch(/pm_/);
    const fund = (extra: Record<string, unknown> = {}) =>
      harness.client.request(
        {
          method: 'tools/call',
          params: {
            name: 'modelslab_fund_wallet',
            arguments: { amount_usd: 10 },
            _meta: modernMeta(caps),
            ...extra,
          },
        },
        Result,
      );
    const first = await fund();
    expect(first.resultType).toBe('input_required');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + STATE_TTL_MS + 1_000);
    const late = await fund({
      requestState: first.requestState,
      inputResponses: { consent: { action: 'accept', content: { approve: true } } },
    });
    expect(late.isError, JSON.stringify(late)).toBe(true);
    expect(textOf(late as never)).toMatch(
      /expired.*Nothing was charged.*\nNext: Call modelslab_fund_wallet again without requestState/s,
    );
    expect(harness.modelslab.requests.filter((r) => r.path === '/api/agents/v1/wallet/fund')).toEqual([]);
  });
});
