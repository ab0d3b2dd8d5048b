import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

describe('list_models', () => {
  it('lists every model with credits, USD price and capabilities, without needing a key', async () => {
    h = await startHarness({ apiKey: null });
    const text = textOf(await h.call('list_models'));
    expect(text).toMatch(/^Pixelmuse models \(6\)/);
    expect(text).toMatch(/- flux-schnell \(Flux Schnell\): 1 credit \(\$0\.10\)/);
    expect(text).toMatch(/- recraft-v4-pro \([^)]+\): 7 credits \(\$0\.70\)/);
    expect(text).toContain('ratios 1:1');
  });

  it('filters by search and says when nothing matches', async () => {
    h = await startHarness();
    const text = textOf(await h.call('list_models', { search: 'RECRAFT' }));
    expect(text).toMatch(/^Pixelmuse models \(2\)/);
    expect(text).not.toContain('flux-schnell (');
    expect(textOf(await h.call('list_models', { search: 'zzz' }))).toContain(
      'No Pixelmuse model matches "zzz"',
    );
  });

  it('still lists models when pricing is down', async () => {
    h = await startHarness();
    h.emulator.inject({ path: '/api/v1/pricing', status: 404, times: 5 });
    const text = textOf(await h.call('list_models'));
    expect(text).toMatch(/- flux-schnell \(Flux Schnell\): 1 credit ·/);
  });
});
