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

  it('keeps the report when the key is rejected', async () => {
    h = await startHarness({ apiKey: 'pm_test_00000000000000000000000000000000' });
    const text = textOf(await h.call('account_status'));
    expect(text).toMatch(/- Pixelmuse refused the request: authentication_error \(HTTP 401/);
    expect(text).toContain('Credential store: memory');
  });
});
