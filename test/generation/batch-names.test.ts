import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generate, type EngineContext } from '../../src/generation/engine.js';
import { silentLogger } from '../../src/log.js';
import { createMedia } from '../../src/media/index.js';
import { PixelmuseClient } from '../../src/providers/pixelmuse/client.js';
import { pixelmuseAdapter } from '../../src/providers/pixelmuse/generation.js';
import { SANDBOX_PIXELMUSE_KEY, startPixelmuseEmulator } from '../../src/sandbox/index.js';
import { openIdempotencyStore } from '../../src/spend/idempotency.js';

// generate_image with count: 2 makes two jobs at once. Whichever finishes first, the first job's image is
// cat.png and the second's cat-2.png, so that the result lists cat.png first.

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a batch of jobs', () => {
  it('names its files in the order of the batch when the first job finishes last', async () => {
    const emu = await startPixelmuseEmulator();
    cleanups.push(() => emu.close());
    const dir = await mkdtemp(join(tmpdir(), 'atelier-batch-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const media = createMedia({
      config: { outputDir: join(dir, 'out'), cwd: dir, dataDir: dir },
      roots: async () => [],
      log: silentLogger,
    });
    const store = openIdempotencyStore(join(dir, 'keys'));
    // Which Idempotency-Key belongs to the batch's first job: that job's create request is held back.
    const firstJobKeys = new Set<string>();
    const ctx: EngineContext = {
      media,
      signal: new AbortController().signal,
      progress: () => {},
      log: silentLogger,
      idempotency: {
        ...store,
        async acquire(operation, args) {
          const key = await store.acquire(operation, args);
          if ((args as { job: number }).job === 0) firstJobKeys.add(key.key);
          return key;
        },
      },
    };
    const adapter = pixelmuseAdapter(
      new PixelmuseClient({ baseUrl: emu.url, log: silentLogger, apiKey: async () => SANDBOX_PIXELMUSE_KEY }),
    );
    const finished: string[] = [];
    const slowFirst: typeof adapter = {
      ...adapter,
      async submit(request, opts) {
        if (firstJobKeys.has(opts.idempotencyKey)) await new Promise((r) => setTimeout(r, 500));
        const created = await adapter.submit(request, opts);
        finished.push(firstJobKeys.has(opts.idempotencyKey) ? 'first' : 'second');
        return created;
      },
    };

    const settled = await generate(
      ctx,
      slowFirst,
      { prompt: 'cat', model: 'imagen-3' },
      { count: 2, deadline: Date.now() + 60_000, target: await media.target({}), model: 'imagen-3' },
    );
    expect(finished).toEqual(['second', 'first']);
    const names = settled.map((s) =>
      s.status === 'fulfilled' ? s.value.saved.map((f) => basename(f.path)) : [],
    );
    expect(names).toEqual([['cat.png'], ['cat-2.png']]);
  });
});
