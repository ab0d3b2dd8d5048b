import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const VISA = { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '731' };
const MASTERCARD = { number: '5555555555554444', exp_month: 6, exp_year: 2033, cvc: '482' };

describe('modelslab_add_payment_method', () => {
  it('tokenizes the card with Stripe using the key from stripe-config, and ModelsLab gets only the pm_', async () => {
    h = await startHarness();
    const result = await h.call('modelslab_add_payment_method', { card: VISA });
    const text = textOf(result);
    expect(result.isError).toBeFalsy();
    expect(text).toMatch(/^Saved Visa •••• 4242 \(pm_\w+\) as the default card\. Nothing was charged\./);
    expect(text).not.toContain(VISA.number);
    // As a number of its own: three digits also turn up inside random ids (pm_…, request ids).
    expect(text).not.toMatch(new RegExp(`(?<![\\w])${VISA.cvc}(?![\\w])`));

    const toStripe = h.stripe.requests.filter((r) => r.path === '/v1/payment_methods');
    expect(toStripe).toHaveLength(1);
    expect(toStripe[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(toStripe[0]!.headers.authorization).toBe(`Bearer ${h.stripe.publishableKey}`);
    expect(new URLSearchParams(String(toStripe[0]!.body)).get('card[number]')).toBe(VISA.number);
    expect(h.modelslab.requests.some((r) => r.path === '/api/agents/v1/billing/stripe-config')).toBe(true);
    const toModelslab = JSON.stringify(h.modelslab.requests);
    expect(toModelslab).not.toContain(VISA.number);
    expect(toModelslab).not.toContain(`"${VISA.cvc}"`);
  });

  it('reads the publishable key from an enveloped stripe-config too, and fetches it every time', async () => {
    h = await startHarness({ modelslab: { envelopeStripeConfig: true } });
    await h.call('modelslab_add_payment_method', { card: VISA });
    await h.call('modelslab_add_payment_method', { card: MASTERCARD, make_default: false });
    expect(
      h.modelslab.requests.filter((r) => r.path === '/api/agents/v1/billing/stripe-config'),
    ).toHaveLength(2);
    const list = textOf(await h.call('modelslab_payment_methods'));
    expect(list).toMatch(
      /Saved cards \(2\):\n- Visa •••• 4242 \(pm_\w+\), expires 12\/2034 \(default\)\n- Mastercard •••• 4444 \(pm_\w+\), expires 06\/2033$/,
    );
  });

  it("turns Stripe's card errors into plain errors without echoing the card", async () => {
    h = await startHarness();
    const wrong = await h.call('modelslab_add_payment_method', {
      card: { ...VISA, number: '4242424242424241' },
    });
    expect(wrong.isError).toBe(true);
    expect(textOf(wrong)).toMatch(
      /^Stripe refused the request: incorrect_number \(HTTP 402, request req_\w+\)\.\nThe card number is incorrect\./,
    );
    expect(textOf(wrong)).toContain('Next: Ask the human to check the card details');
    expect(textOf(wrong)).not.toContain('4242424242424241');
    const expired = await h.call('modelslab_add_payment_method', { card: { ...VISA, exp_year: 2020 } });
    expect(textOf(expired)).toMatch(/invalid_expiry_year .*\n.*expiry year is invalid/);
    expect(
      h.modelslab.requests.filter(
        (r) => r.path === '/api/agents/v1/billing/payment-methods' && r.method === 'POST',
      ),
    ).toHaveLength(0);
  });

  it('attaches an existing payment_method_id, and refuses a card with it', async () => {
    h = await startHarness();
    expect(
      textOf(await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_card_visa' })),
    ).toMatch(/^Saved Visa •••• 4242 \(pm_card_visa\) as the default card/);
    const both = await h.call('modelslab_add_payment_method', {
      card: VISA,
      payment_method_id: 'pm_card_visa',
    });
    expect(textOf(both)).toMatch(/^Invalid input: Give card or payment_method_id, not both\./);
    const unknown = await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_nosuchcard' });
    expect(textOf(unknown)).toMatch(/payment_method_not_found \(HTTP 404/);
  });
});

describe('modelslab_payment_methods', () => {
  it('lists, sets the default and removes', async () => {
    h = await startHarness();
    expect(textOf(await h.call('modelslab_payment_methods'))).toMatch(
      /^No saved cards\. Call modelslab_add_payment_method/,
    );
    await h.call('modelslab_add_payment_method', { card: VISA });
    const mc = /\((pm_\w+)\)/.exec(
      textOf(await h.call('modelslab_add_payment_method', { card: MASTERCARD, make_default: false })),
    )![1]!;
    const set = textOf(
      await h.call('modelslab_payment_methods', { action: 'set_default', payment_method_id: mc }),
    );
    expect(set).toMatch(
      new RegExp(
        `^${mc} is now the default card\\.[\\s\\S]*Mastercard •••• 4444 \\(${mc}\\), expires 06/2033 \\(default\\)`,
      ),
    );
    const removed = textOf(
      await h.call('modelslab_payment_methods', { action: 'remove', payment_method_id: mc }),
    );
    expect(removed).toMatch(
      /^Removed pm_\w+\.\nSaved cards \(1\):\n- Visa •••• 4242 \(pm_\w+\), expires 12\/2034 \(default\)$/,
    );
    const missing = await h.call('modelslab_payment_methods', { action: 'remove' });
    expect(textOf(missing)).toMatch(/^Invalid input: remove needs payment_method_id\./);
  });
});
