import { SANDBOX_MODELSLAB_KEY } from '../../src/sandbox/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_PIXELMUSE_KEY } from '../../src/sandbox/index.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

describe('account_status', () => {
  it('shows the masked key, its source, balance, plan and rate limit', async () => {
    h = await startHarness({ emulator: { credits: 43 } });
    await h.call('generate_image', { prompt: 'one', model: 'imagen-3', preview: false });
    const text = textOf(await h.call('account_status'));
    expect(text).toMatch(/- this period \(\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d\): 1 generation, 1 credit used/);
    expect(text).toMatch(/- key: pm_test_\S+ from memory/);
    expect(text).not.toContain(SANDBOX_PIXELMUSE_KEY);
    expect(text).toContain('- balance: 42 credits');
    expect(text).toContain('plan free');
    expect(text).toMatch(/- rate limit: 60 requests\/min, \d+ left this window/);
    expect(text).toContain('Credential store: memory');
  });

  it('says what to do when no key is configured', async () => {
    h = await startHarness({ apiKey: null });
    const result = await h.call('account_status');
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toMatch(/- not configured\n- Next: Run `npx atelier-mcp login pixelmuse`/);
  });

  it('says whether MPP pay-per-image is configured, masking the Stripe key and warning on sk_', async () => {
    h = await startHarness({ apiKey: null });
    expect(textOf(await h.call('account_status'))).toMatch(
      /- MPP pay-per-image: not configured\n- Next: To pay per image with MPP, set ATELIER_STRIPE_SECRET_KEY/,
    );
    await h.close();
    const key = 'sk_test_51abcdefghijklmnopqrstuvwxyz0123';
    h = await startHarness({
      env: { ATELIER_STRIPE_SECRET_KEY: key, ATELIER_MPP_PAYMENT_METHOD: 'pm_card_visa' },
    });
    const text = textOf(await h.call('account_status'));
    expect(text).toMatch(/- MPP pay-per-image: configured \(Stripe key sk_test_\S+, card pm_card_visa\)/);
    expect(text).toContain('- Warning: ATELIER_STRIPE_SECRET_KEY is a full secret key (sk_…)');
    expect(text).not.toContain(key);
    expect(h.logs.join('\n')).toContain('a restricted key (rk_…) limited to Shared Payment Tokens is safer');
  });

  it('keeps the report when the key is rejected', async () => {
    h = await startHarness({ apiKey: 'pm_test_00000000000000000000000000000000' });
    const text = textOf(await h.call('account_status'));
    expect(text).toMatch(/- Pixelmuse refused the request: authentication_error \(HTTP 401/);
    expect(text).toContain('Credential store: memory');
  });

  it('reads the ModelsLab wallet with the legacy endpoint when there is only an API key', async () => {
    h = await startHarness({ modelslabCredentials: { modelslab_api_key: SANDBOX_MODELSLAB_KEY } });
    const text = textOf(await h.call('account_status'));
    expect(text).toContain('- wallet: 25.00 USD (read with the API key)');
    const asked = h.modelslab.requests.find((r) => r.path === '/api/wallet_balance');
    expect((asked?.body as { key?: string }).key).toBe(SANDBOX_MODELSLAB_KEY);
    expect(text).not.toContain(SANDBOX_MODELSLAB_KEY);
  });
});
