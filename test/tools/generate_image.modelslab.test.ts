import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_MODELSLAB_EMAIL, SANDBOX_MODELSLAB_KEY } from '../../src/sandbox/index.js';
import { savedPaths, startHarness, textOf, type Harness, type HarnessOptions } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const fast: HarnessOptions = { modelslab: { generation: { fetchesToFinish: 2, etaSeconds: 1 } } };
const wallet = (h: Harness) => h.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!.walletUsd;
const requests = (h: Harness, path: string | RegExp) =>
  h.modelslab.requests.filter((r) => (typeof path === 'string' ? r.path === path : path.test(r.path)));
const body = (r: { body: unknown }) => r.body as Record<string, unknown>;

describe('generate_image on ModelsLab', () => {
  it('v6 (flux): creates with the key in the body, waits per eta through fetch_result, saves, and is debited', async () => {
    // Long enough (about 6 s) for a progress heartbeat while it is processing.
    h = await startHarness({ modelslab: { generation: { fetchesToFinish: 6, etaSeconds: 1 } } });
    const before = wallet(h);
    const seen: Array<{ message?: string; progress: number; total?: number }> = [];
    const result = await h.call(
      'generate_image',
      { provider: 'modelslab', prompt: 'a red kite over dunes', aspect_ratio: '16:9', seed: 7 },
      { onprogress: (p) => seen.push(p) },
    );
    expect(result.isError).toBeFalsy();
    const text = textOf(result);
    expect(text).toMatch(
      /^Saved 1 image from ModelsLab flux in [\d.]+ s \(charge not reported\)\. Job id: \d+\./,
    );
    expect(text).toMatch(/ModelsLab generation time: [\d.]+ s\./);
    const [create] = requests(h, '/api/v6/images/text2img');
    expect(body(create!)).toMatchObject({
      key: SANDBOX_MODELSLAB_KEY,
      model_id: 'flux',
      width: '1024',
      height: '576',
      samples: '1',
      seed: 7,
    });
    expect(requests(h, /^\/api\/v6\/images\/fetch\/\d+$/).length).toBeGreaterThanOrEqual(2);
    const meta = await sharp(await readFile(savedPaths(result)[0]!)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1024, 576]);
    expect(wallet(h)).toBeCloseTo(before - 0.01, 5);
    const processing = seen.find((p) =>
      /^ModelsLab flux: processing, about \d+ s left \(job \d+\)/.test(p.message ?? ''),
    );
    expect(processing?.total).toBeGreaterThanOrEqual(processing!.progress);
    expect(text).not.toContain(SANDBOX_MODELSLAB_KEY);
  });

  it('v7 (imagen-4): aspect_ratio by default, count as samples in one job, debited per image', async () => {
    h = await startHarness(fast);
    const before = wallet(h);
    const result = await h.call('generate_image', {
      provider: 'modelslab',
      model: 'imagen-4',
      prompt: 'two lighthouses',
      count: 2,
      preview: false,
    });
    expect(result.isError).toBeFalsy();
    expect(savedPaths(result)).toHaveLength(2);
    const creates = requests(h, '/api/v7/images/text-to-image');
    expect(creates).toHaveLength(1);
    expect(body(creates[0]!)).toMatchObject({ model_id: 'imagen-4', aspect_ratio: '1:1', samples: 2 });
    expect(requests(h, /^\/api\/v7\/images\/fetch\/\d+$/).length).toBeGreaterThanOrEqual(1);
    expect(wallet(h)).toBeCloseTo(before - 0.08, 5);
  });

  it('takes a synchronous answer as it comes, and params.api_version overrides the family', async () => {
    h = await startHarness(fast);
    const result = await h.call('generate_image', {
      provider: 'modelslab',
      model: 'seedream',
      prompt: 'instant',
      preview: false,
      params: { api_version: 'v7', guidance_scale: 5 },
    });
    expect(result.isError).toBeFalsy();
    expect(savedPaths(result)).toHaveLength(1);
    expect(h.modelslab.requests.filter((r) => r.path.startsWith('/api/'))).toHaveLength(1);
    expect(body(requests(h, '/api/v7/images/text-to-image')[0]!)).toMatchObject({ guidance_scale: 5 });
    expect(body(requests(h, '/api/v7/images/text-to-image')[0]!)).not.toHaveProperty('api_version');
  });

  it('quotes a refusal sent as HTTP 200 with status "error" and the "messege" spelling, and charges nothing', async () => {
    h = await startHarness(fast);
    const before = wallet(h);
    const result = await h.call('generate_image', { provider: 'modelslab', prompt: 'something forbidden' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('ModelsLab said: "Your prompt contains words that are not allowed.');
    expect(wallet(h)).toBe(before);
  });

  it('explains a rejected key (401) and an empty wallet (402) in ModelsLab terms', async () => {
    h = await startHarness({
      ...fast,
      modelslabCredentials: { modelslab_api_key: 'NotTheRightKey00000000000000000000000000000000000000000' },
    });
    const rejected = await h.call('generate_image', { provider: 'modelslab', prompt: 'x' });
    expect(rejected.isError).toBe(true);
    expect(textOf(rejected)).toMatch(/HTTP 401/);
    expect(textOf(rejected)).toContain('MODELSLAB_API_KEY');
    expect(textOf(rejected)).not.toContain('NotTheRightKey');
    await h.close();
    h = await startHarness({ modelslab: { walletUsd: 0, generation: { fetchesToFinish: 2 } } });
    const broke = await h.call('generate_image', { provider: 'modelslab', prompt: 'x' });
    expect(broke.isError).toBe(true);
    expect(textOf(broke)).toMatch(/HTTP 402/);
    expect(textOf(broke)).toContain('Insufficient wallet balance');
  });

  it('reports a job that failed while processing with its id and the provider words', async () => {
    h = await startHarness(fast);
    const result = await h.call('generate_image', { provider: 'modelslab', prompt: 'make it explode' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Job \d+ \(flux\) failed/);
    expect(textOf(result)).toContain(
      'ModelsLab said: "Image generation failed on the GPU worker (sandbox)."',
    );
  });

  it('reports nsfw_content_detected', async () => {
    h = await startHarness(fast);
    const result = await h.call('generate_image', {
      provider: 'modelslab',
      prompt: 'nsfw test',
      preview: false,
    });
    expect(textOf(result)).toContain('ModelsLab flagged the output as NSFW (nsfw_content_detected).');
  });

  it('sends a local input_image as base64 with base64: true to img2img (v6) and as a list to image-to-image (v7)', async () => {
    h = await startHarness(fast);
    const local = join(h.outputDir, 'ref.png');
    await writeFile(
      local,
      await sharp({ create: { width: 64, height: 64, channels: 3, background: '#08f' } })
        .png()
        .toBuffer(),
    );
    const v6 = await h.call('generate_image', {
      provider: 'modelslab',
      prompt: 'variation',
      input_image: local,
      preview: false,
    });
    expect(v6.isError).toBeFalsy();
    const sent = body(requests(h, '/api/v6/images/img2img')[0]!);
    expect(String(sent.init_image)).toMatch(/^data:image\/png;base64,/);
    // The documents take base64 input only with `base64: true`; the output then comes back as base64 too.
    expect(sent.base64).toBe(true);
    expect((await sharp(await readFile(savedPaths(v6)[0]!)).metadata()).format).toBe('png');
    const v7 = await h.call('generate_image', {
      provider: 'modelslab',
      model: 'nano-banana-pro',
      prompt: 'variation',
      input_image: 'https://example.com/ref.png',
      preview: false,
    });
    expect(v7.isError).toBeFalsy();
    expect(body(requests(h, '/api/v7/images/image-to-image')[0]!).init_image).toEqual([
      'https://example.com/ref.png',
    ]);
  });

  it('refuses a v6 size above 1024 before anything is sent, naming the limit', async () => {
    h = await startHarness(fast);
    for (const args of [
      { width: 2048, height: 1024 },
      { params: { width: 1536, height: 1024 } },
      { model: 'imagen-4', width: 2048, height: 2048, params: { api_version: 'v6' } },
    ]) {
      const result = await h.call('generate_image', {
        provider: 'modelslab',
        prompt: 'too wide',
        preview: false,
        ...args,
      });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/up to 1024 px; width \d+ .*over the limit[\s\S]*Next: /);
    }
    expect(requests(h, /^\/api\/v\d\/images\//)).toEqual([]);
  });

  it("keeps Laravel's {message, errors} field errors, with the status and request id", async () => {
    h = await startHarness(fast);
    h.modelslab.inject({
      method: 'POST',
      path: '/api/v6/images/text2img',
      status: 422,
      headers: { 'x-request-id': 'req_laravel1' },
      body: {
        message: 'The given data was invalid.',
        errors: {
          samples: ['The samples must not be greater than 4.'],
          seed: ['The seed must be an integer.'],
        },
      },
    });
    const result = await h.call('generate_image', { provider: 'modelslab', prompt: 'x', preview: false });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/HTTP 422 \(request [^)]*req_laravel1\)/);
    expect(text).toContain('The samples must not be greater than 4.');
    expect(text).toContain('seed: The seed must be an integer.');
  });

  it('sends nano-banana as nano-banana-t2i to text-to-image and as nano-banana to image-to-image', async () => {
    h = await startHarness(fast);
    for (const model of ['nano-banana', 'nano-banana-t2i']) {
      const drawn = await h.call('generate_image', {
        provider: 'modelslab',
        model,
        prompt: 'a',
        preview: false,
      });
      expect(drawn.isError, textOf(drawn)).toBeFalsy();
      const edited = await h.call('generate_image', {
        provider: 'modelslab',
        model,
        prompt: 'b',
        input_image: 'https://example.com/ref.png',
        preview: false,
      });
      expect(edited.isError, textOf(edited)).toBeFalsy();
    }
    expect(requests(h, '/api/v7/images/text-to-image').map((r) => body(r).model_id)).toEqual([
      'nano-banana-t2i',
      'nano-banana-t2i',
    ]);
    expect(requests(h, '/api/v7/images/image-to-image').map((r) => body(r).model_id)).toEqual([
      'nano-banana',
      'nano-banana',
    ]);
  });

  it("types v7 init_image as the model's schema says (a list for nano-banana-pro), else the documented string", async () => {
    h = await startHarness(fast);
    for (const model of ['nano-banana-pro', 'imagen-3']) {
      const result = await h.call('generate_image', {
        provider: 'modelslab',
        model,
        prompt: 'edit',
        input_image: 'https://example.com/ref.png',
        preview: false,
      });
      expect(result.isError, textOf(result)).toBeFalsy();
    }
    expect(requests(h, '/api/v7/images/image-to-image').map((r) => body(r).init_image)).toEqual([
      ['https://example.com/ref.png'],
      'https://example.com/ref.png',
    ]);
    // Without the schema (the catalogue is down) the documented string goes.
    h.modelslab.inject({ path: /^\/api\/agents\/v1\/models\//, status: 503, times: 10 });
    await h.call('generate_image', {
      provider: 'modelslab',
      model: 'seedream',
      prompt: 'edit',
      input_image: 'https://example.com/b.png',
      preview: false,
    });
    expect(body(requests(h, '/api/v7/images/image-to-image').at(-1)!).init_image).toBe(
      'https://example.com/b.png',
    );
  });

  it("v8 paths come from the model's schema when known; params.api_version overrides the table", async () => {
    h = await startHarness(fast);
    const v8 = await h.call('generate_image', {
      provider: 'modelslab',
      model: 'flux-2-dev',
      prompt: 'a',
      preview: false,
    });
    expect(v8.isError, textOf(v8)).toBeFalsy();
    expect(requests(h, /^\/api\/agents\/v1\/models\/flux-2-dev$/)).toHaveLength(1);
    expect(requests(h, '/api/v8/images/text-to-image')).toHaveLength(1);
    const moved = await h.call('generate_image', {
      provider: 'modelslab',
      model: 'imagen-3',
      prompt: 'a',
      preview: false,
      params: { api_version: 'v7' },
    });
    expect(moved.isError, textOf(moved)).toBeFalsy();
    expect(requests(h, '/api/v7/images/text-to-image')).toHaveLength(1);
  });

  it('decodes base64 outputs', async () => {
    h = await startHarness(fast);
    const result = await h.call('generate_image', {
      provider: 'modelslab',
      prompt: 'inline',
      preview: false,
      params: { base64: true },
    });
    expect(result.isError).toBeFalsy();
    expect((await sharp(await readFile(savedPaths(result)[0]!)).metadata()).format).toBe('png');
    expect(textOf(result)).not.toContain('url:');
  });

  it('hands back STILL RUNNING with the id and future links, and get_generation finishes it', async () => {
    h = await startHarness({ modelslab: { generation: { fetchesToFinish: 4, etaSeconds: 1 } } });
    const first = await h.call('generate_image', {
      provider: 'modelslab',
      prompt: 'patience',
      max_wait_seconds: 1,
    });
    expect(first.isError).toBeFalsy();
    const text = textOf(first);
    expect(text).toMatch(/^STILL RUNNING \(not finished, not failed\): ModelsLab job \d+/);
    expect(text).toMatch(/will appear at: http:\/\/127\.0\.0\.1:\d+\/cdn\/modelslab\/\d+\/0\.png/);
    const id = /ModelsLab job (\d+)/.exec(text)![1]!;
    const resumed = await h.call('get_generation', { provider: 'modelslab', id, max_wait_seconds: 30 });
    expect(resumed.isError).toBeFalsy();
    expect(textOf(resumed)).toContain(`Job id: ${id}`);
    expect(savedPaths(resumed)).toHaveLength(1);
    expect(requests(h, '/api/v6/images/text2img')).toHaveLength(1);
  });

  it('never posts the key to a fetch_result on another origin, and accepts a string id', async () => {
    h = await startHarness(fast);
    h.modelslab.inject({
      method: 'POST',
      path: '/api/v6/images/text2img',
      rewrite: (b) => ({ ...b, id: String(b.id), fetch_result: 'http://127.0.0.2:9/api/v6/images/fetch/1' }),
    });
    const result = await h.call('generate_image', {
      provider: 'modelslab',
      prompt: 'elsewhere',
      preview: false,
    });
    expect(result.isError).toBeFalsy();
    // The family's documented fetch path, with the id in the body.
    const fetches = requests(h, '/api/v6/images/fetch');
    expect(fetches.length).toBeGreaterThanOrEqual(1);
    expect(body(fetches[0]!).request_id).toMatch(/^\d+$/);
  });

  it('reads a fetch answer of status "error" with "messege" as a failed job', async () => {
    h = await startHarness(fast);
    h.modelslab.inject({
      method: 'POST',
      path: /^\/api\/v6\/images\/fetch\//,
      status: 200,
      body: { status: 'error', messege: 'Queue error: worker lost' },
    });
    const result = await h.call('generate_image', { provider: 'modelslab', prompt: 'queue trouble' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('ModelsLab said: "Queue error: worker lost"');
    expect(textOf(result)).toMatch(/Job \d+ \(flux\) failed/);
  });

  it('stops waiting when the client cancels: no request after the cancel', async () => {
    h = await startHarness({ modelslab: { generation: { fetchesToFinish: 50, etaSeconds: 1 } } });
    const controller = new AbortController();
    const call = h.call(
      'generate_image',
      { provider: 'modelslab', prompt: 'never mind' },
      { signal: controller.signal },
    );
    while (requests(h, /^\/api\/v6\/images\/fetch/).length === 0) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(call).rejects.toThrow();
    const seen = h.modelslab.requests.length;
    await new Promise((r) => setTimeout(r, 2_500));
    expect(h.modelslab.requests).toHaveLength(seen);
  });

  it('bounds the call by max_wait_seconds against a slow, 503ing ModelsLab', async () => {
    h = await startHarness({ modelslab: { generation: { fetchesToFinish: 50, etaSeconds: 1 } } });
    h.modelslab.inject({
      method: 'POST',
      path: /^\/api\/v6\/images\/fetch/,
      status: 503,
      headers: { 'retry-after': '1' },
      times: 100,
    });
    const started = Date.now();
    const result = await h.call('generate_image', {
      provider: 'modelslab',
      prompt: 'flaky',
      max_wait_seconds: 3,
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(textOf(result)).toMatch(/^STILL RUNNING/);
  });

  it('offers only the enabled providers in the provider enum', async () => {
    h = await startHarness({ config: { providers: ['modelslab'] } });
    const { tools } = await h.client.listTools();
    for (const name of ['generate_image', 'get_generation']) {
      const schema = tools.find((t) => t.name === name)!.inputSchema as {
        properties: Record<string, { enum?: string[] }>;
      };
      expect(schema.properties.provider!.enum).toEqual(['modelslab']);
    }
    const result = await h.call('generate_image', {
      prompt: 'only here',
      preview: false,
      model: 'seedream',
      params: { api_version: 'v7' },
    });
    expect(textOf(result)).toMatch(/^Saved 1 image from ModelsLab seedream/);
  });
});
