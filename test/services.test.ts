import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import {
  SANDBOX_PIXELMUSE_KEY,
  startPixelmuseEmulator,
  type PixelmuseEmulator,
} from '../src/sandbox/index.js';
import { createServices } from '../src/services.js';

let emulator: PixelmuseEmulator;
afterEach(async () => emulator?.close());

async function services(memory: Record<string, string>) {
  emulator = await startPixelmuseEmulator();
  const config = {
    ...loadConfig({}, {}, '/tmp'),
    pixelmuseBaseUrl: emulator.url,
    credentialStore: 'memory' as const,
  };
  const s = createServices(config, silentLogger, { env: {}, memory });
  return { ...s, reads: vi.spyOn(s.credentials, 'get') };
}

describe('services', () => {
  it('reads the key from the store once, not on every poll', async () => {
    const s = await services({ pixelmuse_api_key: SANDBOX_PIXELMUSE_KEY });
    for (let i = 0; i < 5; i++) await s.pixelmuse.getAccount();
    expect(s.reads).toHaveBeenCalledTimes(1);
  });

  it('keeps looking for a key that is not there yet (a login while the server runs)', async () => {
    const s = await services({});
    await expect(s.pixelmuse.getAccount()).rejects.toThrow(/No Pixelmuse API key/);
    await s.credentials.save('pixelmuse_api_key', SANDBOX_PIXELMUSE_KEY);
    await expect(s.pixelmuse.getAccount()).resolves.toMatchObject({ plan: 'free' });
    expect(s.reads).toHaveBeenCalledTimes(2);
  });

  it('drops a cached key the provider rejected (401), so a corrected key works on the next call', async () => {
    const s = await services({ pixelmuse_api_key: 'pm_test_wrongwrongwrongwrongwrongwrong' });
    await expect(s.pixelmuse.getAccount()).rejects.toThrow(/Invalid API key/);
    await s.credentials.save('pixelmuse_api_key', SANDBOX_PIXELMUSE_KEY);
    await expect(s.pixelmuse.getAccount()).resolves.toMatchObject({ plan: 'free' });
  });
});
