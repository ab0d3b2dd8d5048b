import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, ProviderError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { PixelmuseClient } from '../../../src/providers/pixelmuse/client.js';
import { pixelmuseAdapter, pollIntervalMs, toJob } from '../../../src/providers/pixelmuse/generation.js';
import {
  SANDBOX_PIXELMUSE_KEY,
  startPixelmuseEmulator,
  type PixelmuseEmulator,
} from '../../../src/sandbox/index.js';

let emulator: PixelmuseEmulator;
let client: PixelmuseClient;
beforeEach(async () => {
  emulator = await startPixelmuseEmulator({ jobDelayMs: { 'flux-schnell': 300, 'recraft-v4-pro': 5_000 } });
  client = new PixelmuseClient({
    baseUrl: emulator.url,
    log: silentLogger,
    apiKey: async () => SANDBOX_PIXELMUSE_KEY,
  });
});
afterEach(async () => emulator.close());

const signal = new AbortController().signal;

describe('PixelmuseClient against the emulator', () => {
  it('covers every operation of the OpenAPI', async () => {
    const created = await client.createImage({ prompt: 'p', model: 'imagen-3' }, { idempotencyKey: 'k1' });
    expect([created.status, created.image.status, created.replayed]).toEqual([201, 'succeeded', false]);
    const replay = await client.createImage({ prompt: 'p', model: 'imagen-3' }, { idempotencyKey: 'k1' });
    expect([replay.replayed, replay.image.id]).toEqual([true, created.image.id]);
    expect((await client.getImage(created.image.id)).id).toBe(created.image.id);
    expect((await client.updateImage(created.image.id, { visibility: 'public' })).visibility).toBe('public');
    const page = await client.listImages({ limit: 5 });
    expect(page.data.map((i) => i.id)).toEqual([created.image.id]);
    expect(page.has_more).toBe(false);
    await expect(client.deleteImage(created.image.id)).resolves.toBeUndefined();
    await expect(client.getImage(created.image.id)).rejects.toMatchObject({ status: 404 });
    expect((await client.listModels()).map((m) => m.id)).toContain('flux-schnell');
    expect((await client.getModel('recraft-v4')).credit_cost).toBe(1);
    expect((await client.getAccount()).credits?.total).toBe(99);
    const usage = await client.getUsage();
    expect([usage.generations_count, usage.credits_used]).toEqual([1, 1]);
    expect((await client.getPricing()).models.find((m) => m.model === 'flux-schnell')?.price_usd).toBe(0.1);
    expect((await client.listPackages())[0]?.name).toBe('credit_pack');
    expect((await client.createCheckout('credit_pack')).checkout_url).toMatch(/\/checkout\/cs_test_/);
    expect(client.rateLimit).toMatchObject({ limit: 60 });
  });

  it('sends Prefer: wait and the Idempotency-Key on create, and gets 202 when the job outlasts the wait', async () => {
    emulator.credits = 10;
    const slow = await client.createImage(
      { prompt: 'p', model: 'recraft-v4-pro' },
      { idempotencyKey: 'k3', waitSeconds: 0.1 },
    );
    expect([slow.status, slow.image.status]).toEqual([202, 'processing']);
    const post = emulator.requests.find((r) => r.method === 'POST')!;
    expect(post.headers).toMatchObject({ prefer: 'wait=1', 'idempotency-key': 'k3' });
    expect(post.headers.authorization).toBe(`Bearer ${SANDBOX_PIXELMUSE_KEY}`);
  });

  it('calls public endpoints without a key, and refuses private ones without calling', async () => {
    const keyless = new PixelmuseClient({
      baseUrl: emulator.url,
      log: silentLogger,
      apiKey: async () => undefined,
    });
    expect((await keyless.listModels()).length).toBeGreaterThan(0);
    await expect(keyless.getAccount()).rejects.toBeInstanceOf(ConfigurationError);
    expect(emulator.requests.map((r) => r.path)).toEqual(['/api/v1/models']);
  });

  it('turns an answer without id and status into a clear provider error', async () => {
    emulator.inject({ method: 'GET', path: '/api/v1/images/x', status: 200, body: { hello: 'world' } });
    const error = await client.getImage('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'unexpected_response', status: 200 });
  });
});

describe('the Pixelmuse generation adapter', () => {
  it("checks by the job's age: fast at first, then slower", () => {
    expect([0, 4_999, 5_000, 29_999, 30_000, 119_999, 120_000].map(pollIntervalMs)).toEqual([
      500, 500, 1_000, 1_000, 2_000, 2_000, 5_000,
    ]);
    const adapter = pixelmuseAdapter(client);
    const created = Date.parse('2026-01-01T00:00:00Z');
    const job = toJob({
      id: 'img_1',
      status: 'processing',
      model: 'm',
      prompt: 'p',
      output: null,
      created_at: new Date(created).toISOString(),
    });
    expect(job.createdAt).toBe(created);
    expect(adapter.nextCheckMs(job, 50_000)).toBe(2_000);
  });

  it('reads a canceled job as canceled and a string output as one output', () => {
    const base = { id: 'img_1', model: 'm', prompt: 'p' };
    expect(toJob({ ...base, status: 'canceled', output: null }).state).toBe('canceled');
    expect(toJob({ ...base, status: 'processing', output: null }).state).toBe('running');
    const single = toJob({ ...base, status: 'succeeded', output: 'https://cdn.example/a.png' });
    expect(single.outputs).toEqual(['https://cdn.example/a.png']);
  });

  it('submits with Prefer: wait up to the wait limit, and looks a job up with its cost', async () => {
    const adapter = pixelmuseAdapter(client);
    const { job } = await adapter.submit(
      { prompt: 'p', model: 'flux-schnell' },
      { idempotencyKey: 'k4', deadline: Date.now() + 10_000, waitUntil: Date.now() + 3_500 },
    );
    expect(emulator.requests.find((r) => r.method === 'POST')?.headers.prefer).toBe('wait=3');
    expect(job.state).toBe('succeeded');
    const again = await adapter.lookup(job.id, { signal, deadline: Date.now() + 5_000 });
    expect(again.outputs[0]).toMatch(/\/cdn\//);
    expect(again.cost).toEqual({ credits: 1 });
    expect(adapter.rateLimit()).toMatchObject({ limit: 60, remaining: 58 });
  });
});
