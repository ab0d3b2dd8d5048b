import { describe, expect, it } from 'vitest';
import type { Provider } from '../../src/config.js';
import { loadConfig } from '../../src/config.js';
import { chooseProvider } from '../../src/generation/choose-provider.js';
import { paceForRateLimit } from '../../src/generation/engine.js';

const holding = (...names: string[]) => ({
  get: async (name: string) => (names.includes(name) ? { value: 'k', source: 'env' } : undefined),
});
const config = (env: Record<string, string> = {}) => loadConfig({}, env, '/tmp');

describe('chooseProvider', () => {
  it('uses the named provider, else the only enabled or configured one, else ATELIER_DEFAULT_PROVIDER', async () => {
    const both = holding('pixelmuse_api_key', 'modelslab_api_key');
    expect(await chooseProvider('modelslab', config(), both as never)).toBe('modelslab');
    expect(
      await chooseProvider(undefined, config({ ATELIER_PROVIDERS: 'modelslab' }), holding() as never),
    ).toBe('modelslab');
    expect(await chooseProvider(undefined, config(), holding('modelslab_api_key') as never)).toBe(
      'modelslab',
    );
    expect(await chooseProvider(undefined, config(), both as never)).toBe('pixelmuse');
    const preferred = config({ ATELIER_DEFAULT_PROVIDER: 'modelslab' });
    expect(await chooseProvider(undefined, preferred, both as never)).toBe<Provider>('modelslab');
    expect(await chooseProvider(undefined, preferred, holding('pixelmuse_api_key') as never)).toBe(
      'pixelmuse',
    );
  });

  it('refuses an unknown ATELIER_DEFAULT_PROVIDER', () => {
    expect(() => config({ ATELIER_DEFAULT_PROVIDER: 'dalle' })).toThrow(/ATELIER_DEFAULT_PROVIDER=dalle/);
  });
});

describe('paceForRateLimit', () => {
  it('keeps the interval while the limit is far, spreads the rest of the window when it runs low', () => {
    const now = 1_000_000;
    expect(paceForRateLimit(500, {}, now)).toBe(500);
    expect(paceForRateLimit(500, { limit: 60, remaining: 40, resetAt: now + 30_000 }, now)).toBe(500);
    expect(paceForRateLimit(500, { limit: 10, remaining: 5, resetAt: now + 50_000 }, now)).toBe(10_000);
    expect(paceForRateLimit(500, { limit: 10, remaining: 0, resetAt: now + 12_000 }, now)).toBe(12_000);
  });
});
