import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_MODELSLAB_KEY } from '../../src/sandbox/index.js';
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

  it('lists ModelsLab models through the Agents API with a token, filtered, and caches the answer briefly', async () => {
    h = await startHarness();
    const text = textOf(await h.call('list_models', { provider: 'modelslab', vendor: 'google' }));
    expect(text).toMatch(/^ModelsLab models \(5\), default flux/);
    expect(text).toMatch(/- imagen-4 \(Imagen 4\): google · text-to-image · v7/);
    expect(text).not.toContain('- flux (');
    const asked = h.modelslab.requests.filter((r) => r.path === '/api/agents/v1/models');
    expect(asked).toHaveLength(1);
    expect(asked[0]!.query.provider).toBe('google');
    await h.call('list_models', { provider: 'modelslab', vendor: 'google' });
    expect(h.modelslab.requests.filter((r) => r.path === '/api/agents/v1/models')).toHaveLength(1);
  });

  it('uses /api/v6/model-search with only a key, and shows one model with its parameter schema', async () => {
    h = await startHarness({ modelslabCredentials: { modelslab_api_key: SANDBOX_MODELSLAB_KEY } });
    const list = textOf(await h.call('list_models', { provider: 'modelslab', search: 'flux' }));
    expect(list).toMatch(/- flux \(Flux\): black-forest-labs · text-to-image · v6/);
    expect(h.modelslab.requests.find((r) => r.path === '/api/v6/model-search')?.query.search).toBe('flux');
    const one = textOf(await h.call('list_models', { model: 'imagen-4' }));
    expect(one).toMatch(
      /^ModelsLab model imagen-4 \(Imagen 4\), google, text-to-image; generate_image uses the v7 API/,
    );
    expect(one).toContain('- aspect_ratio: string, one of 1:1, 16:9, 9:16, 4:3, 3:4, required');
  });

  it('still lists Pixelmuse when ModelsLab has no credential, saying how to add one', async () => {
    h = await startHarness({ modelslabCredentials: {} });
    const text = textOf(await h.call('list_models'));
    expect(text).toMatch(/^Pixelmuse models \(6\)/);
    expect(text).toMatch(/ModelsLab models: unavailable\. Not configured: .*MODELSLAB_API_KEY/);
  });
});
