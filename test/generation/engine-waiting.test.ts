import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generate, type EngineContext } from '../../src/generation/engine.js';
import type { GenerationAdapter } from '../../src/generation/adapter.js';
import { silentLogger } from '../../src/log.js';
import { createMedia } from '../../src/media/index.js';
import { PixelmuseClient } from '../../src/providers/pixelmuse/client.js';
import { pixelmuseAdapter } from '../../src/providers/pixelmuse/generation.js';
import { ModelslabGenerationClient } from '../../src/providers/modelslab/generation-client.js';
import { buildModelslabRequest, modelslabAdapter } from '../../src/providers/modelslab/generation.js';
import {
  SANDBOX_MODELSLAB_KEY,
  SANDBOX_PIXELMUSE_KEY,
  startModelslabEmulator,
  startPixelmuseEmulator,
} from '../../src/sandbox/index.js';
import { loadConfig } from '../../src/config.js';
import { openSpendBook, type Spend } from '../../src/spend/index.js';

// What the engine does while a job runs, so that less is left for after it completes (the time a user waits
// for the result): loading what saving needs, and settling the create request's idempotency key.

/** Longer than any test: whatever a test sees happened while the job was running. */
const LONG_JOB_MS = 600_000;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function engineContext(wrap?: (spend: Spend) => Spend) {
  const dir = await mkdtemp(join(tmpdir(), 'atelier-engine-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const media = createMedia({
    config: { outputDir: join(dir, 'out'), cwd: dir, dataDir: dir },
    roots: async () => [],
    log: silentLogger,
  });
  const controller = new AbortController();
  cleanups.push(async () => controller.abort());
  const spend = openSpendBook({ ...loadConfig({}, {}, dir), home: dir }, silentLogger).withConsent({
    canAsk: () => false,
    ask: () => Promise.reject(new Error('no human here')),
    canOpenUrl: () => false,
    openUrl: () => Promise.reject(new Error('no human here')),
  });
  const ctx: EngineContext = {
    media,
    signal: controller.signal,
    progress: () => {},
    log: silentLogger,
    spend: wrap ? wrap(spend) : spend,
  };
  return { ctx, warm: vi.spyOn(media, 'warm'), target: await media.target({}) };
}

const pixelmuse = (baseUrl: string) =>
  pixelmuseAdapter(
    new PixelmuseClient({
      baseUrl,
      log: silentLogger,
      apiKey: async () => SANDBOX_PIXELMUSE_KEY,
      http: { maxRetries: 0 },
    }),
  );

function run<R>(
  ctx: EngineContext,
  adapter: GenerationAdapter<R>,
  request: R,
  target: Awaited<ReturnType<typeof engineContext>>['target'],
  preview = false,
) {
  const running = generate(ctx, adapter, request, {
    count: 1,
    deadline: Date.now() + 120_000,
    target,
    model: 'm',
    preview,
  });
  // A test that ends while the job runs aborts it; the abort must not surface as an unhandled rejection.
  running.catch(() => undefined);
  return running;
}

describe('generation engine: work done while the job runs', () => {
  it('Pixelmuse holds the create answer: saving loads once the request is out, while the job runs', async () => {
    const emu = await startPixelmuseEmulator({ jobDelayMs: LONG_JOB_MS });
    cleanups.push(() => emu.close());
    const { ctx, warm, target } = await engineContext();
    void run(ctx, pixelmuse(emu.url), { prompt: 'a lighthouse', model: 'flux-schnell' }, target);

    await vi.waitFor(() => expect(warm).toHaveBeenCalled(), { timeout: 20_000 });
  });

  it('loads nothing before the create request is sent (it would delay the job), nor when it never is', async () => {
    // A port that refuses connections: the create request is never written.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as { port: number };
    await new Promise((r) => closed.close(r));
    const { ctx, warm, target } = await engineContext();
    const [outcome] = await run(
      ctx,
      pixelmuse(`http://127.0.0.1:${port}`),
      { prompt: 'a lighthouse', model: 'flux-schnell' },
      target,
    );
    expect(outcome?.status).toBe('rejected');
    expect(warm).not.toHaveBeenCalled();
  });

  it('ModelsLab answers at once: saving loads while the engine waits for the first check', async () => {
    const emu = await startModelslabEmulator({ generation: { jobDelayMs: LONG_JOB_MS } });
    cleanups.push(() => emu.close());
    const { ctx, warm, target } = await engineContext();
    const fetchesWhenWarmed: number[] = [];
    warm.mockImplementation(() => {
      fetchesWhenWarmed.push(emu.requests.filter((r) => r.path.includes('/fetch')).length);
    });
    const adapter = modelslabAdapter(
      new ModelslabGenerationClient({
        baseUrl: emu.url,
        log: silentLogger,
        apiKey: async () => SANDBOX_MODELSLAB_KEY,
      }),
    );
    void run(ctx, adapter, buildModelslabRequest({ model: 'flux', prompt: 'a lighthouse' }), target);

    await vi.waitFor(() => expect(warm).toHaveBeenCalled(), { timeout: 20_000 });
    expect(fetchesWhenWarmed[0]).toBe(0);
    expect(emu.requests.filter((r) => r.path === '/api/v6/images/text2img')).toHaveLength(1);
  });

  it('settles the idempotency key while the image downloads, and answers only once it is settled', async () => {
    const emu = await startPixelmuseEmulator({ jobDelayMs: 50 });
    cleanups.push(() => emu.close());
    const events: string[] = [];
    const downloaded = () => emu.requests.some((r) => r.path.startsWith('/cdn/'));
    const { ctx, target } = await engineContext((spend) => ({
      ...spend,
      async once(req) {
        const sent = await spend.once(req);
        const settled = (async () => {
          // Waits for the download, which comes only after the key is settled if the two take turns.
          await vi.waitFor(() => expect(downloaded()).toBe(true), { timeout: 10_000 }).catch(() => {});
          events.push(downloaded() ? 'settling after the download began' : 'settling, no download yet');
          await sent.settled;
          events.push('settled');
        })();
        return { ...sent, settled };
      },
    }));

    const [outcome] = await run(
      ctx,
      pixelmuse(emu.url),
      { prompt: 'a lighthouse', model: 'flux-schnell' },
      target,
    );
    events.push('answered');
    expect(outcome).toMatchObject({ status: 'fulfilled', value: { state: 'succeeded' } });
    expect(events).toEqual(['settling after the download began', 'settled', 'answered']);
  });

  it('makes the preview while the first output is being saved, and only when the result shows one', async () => {
    const emu = await startPixelmuseEmulator({ jobDelayMs: 50 });
    cleanups.push(() => emu.close());
    const { ctx, target } = await engineContext();
    const previewed = vi.spyOn(ctx.media, 'preview');
    const save = ctx.media.save.bind(ctx.media);
    const events: string[] = [];
    const saving = vi.spyOn(ctx.media, 'save').mockImplementation(async (...args) => {
      // Waits for the preview, which would start only after the save if the two took turns.
      await vi.waitFor(() => expect(previewed).toHaveBeenCalled(), { timeout: 10_000 }).catch(() => {});
      events.push(previewed.mock.calls.length > 0 ? 'saving, preview begun' : 'saving, no preview yet');
      return save(...args);
    });

    const [outcome] = await run(
      ctx,
      pixelmuse(emu.url),
      { prompt: 'a lighthouse', model: 'flux-schnell' },
      target,
      true,
    );
    expect(events).toEqual(['saving, preview begun']);
    if (outcome?.status !== 'fulfilled') throw new Error('the generation failed');
    expect(await outcome.value.preview).toMatchObject({ mimeType: 'image/jpeg', width: 768, height: 768 });

    saving.mockRestore();
    previewed.mockClear();
    const [without] = await run(
      ctx,
      pixelmuse(emu.url),
      { prompt: 'a harbour', model: 'flux-schnell' },
      target,
    );
    expect(without).toMatchObject({ status: 'fulfilled', value: { state: 'succeeded' } });
    expect(without?.status === 'fulfilled' && without.value).not.toHaveProperty('preview');
    expect(previewed).not.toHaveBeenCalled();
  });
});
