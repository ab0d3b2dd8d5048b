import { readdir, readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { savedPaths, startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const posts = (h: Harness) =>
  h.emulator.requests.filter((r) => r.method === 'POST' && r.path === '/api/v1/images');

describe('generate_image', () => {
  it('saves a sync model output as a real PNG in the output root and returns path, id, cost and a preview', async () => {
    h = await startHarness();
    const before = h.emulator.credits;
    const result = await h.call('generate_image', {
      prompt: 'a red fox in snow',
      model: 'imagen-3',
      aspect_ratio: '16:9',
    });
    expect(result.isError).toBeFalsy();
    const text = textOf(result);
    expect(text).toMatch(
      /Saved 1 image from Pixelmuse imagen-3 in [\d.]+ s \(1 credit charged\)\. Job id: gemini_\w+\./,
    );
    const [path] = savedPaths(result);
    expect(path).toBe(`${h.outputDir}/a-red-fox-in-snow.png`);
    const meta = await sharp(await readFile(path!)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1024, 576]);
    const image = result.content.find((c) => c.type === 'image');
    expect(image?.mimeType).toBe('image/jpeg');
    const preview = await sharp(Buffer.from(image!.data as string, 'base64')).metadata();
    expect(Math.max(preview.width!, preview.height!)).toBeLessThanOrEqual(768);
    expect(h.emulator.credits).toBe(before - 1);
    expect(posts(h)[0]?.headers.prefer).toMatch(/^wait=\d+$/);
    expect(posts(h)[0]?.headers['idempotency-key']).toMatch(/^atelier-generate-pixelmuse-/);
  });

  it('refuses params outside the OpenAPI GenerateImageRequest before anything is sent; visibility goes through', async () => {
    h = await startHarness();
    const result = await h.call('generate_image', {
      prompt: 'styled',
      model: 'flux-schnell',
      params: { style: 'anime', steps: 4 },
      preview: false,
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Pixelmuse takes no "style", "steps" in params[\s\S]*Next: /);
    expect(posts(h)).toHaveLength(0);
    const ok = await h.call('generate_image', {
      prompt: 'public',
      model: 'flux-schnell',
      params: { visibility: 'public' },
      preview: false,
    });
    expect(ok.isError, textOf(ok)).toBeFalsy();
    expect(posts(h)[0]?.body).toMatchObject({ visibility: 'public' });
  });

  it('waits for an async job, downloads the URL output and honours output_dir, filename and preview: false', async () => {
    h = await startHarness();
    const result = await h.call('generate_image', {
      prompt: 'hero banner',
      model: 'flux-schnell',
      output_dir: 'hero/v1',
      filename: 'landing.jpg',
      preview: false,
    });
    expect(result.isError).toBeFalsy();
    const [path] = savedPaths(result);
    // The extension follows the bytes (PNG), not the name the agent asked for.
    expect(path).toBe(`${h.outputDir}/hero/v1/landing.png`);
    expect(textOf(result)).toMatch(new RegExp(`url: ${h.emulator.url}/cdn/img_\\w+/0\\.png`));
    expect(result.content.some((c) => c.type === 'image')).toBe(false);
    const again = await h.call('generate_image', {
      prompt: 'hero banner',
      output_dir: 'hero/v1',
      filename: 'landing',
    });
    expect(savedPaths(again)[0]).toBe(`${h.outputDir}/hero/v1/landing-2.png`);
  });

  it('polls when Prefer: wait ends first, sending progress every 5 s and none after the result', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 6_500, maxPreferWaitSeconds: 1 } });
    const seen: Array<{ progress: number; message?: string; at: number }> = [];
    const result = await h.call(
      'generate_image',
      { prompt: 'slow job', model: 'recraft-v4', max_wait_seconds: 30 },
      { onprogress: (p) => seen.push({ ...p, at: Date.now() }), resetTimeoutOnProgress: true },
    );
    const doneAt = Date.now();
    expect(result.isError).toBeFalsy();
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen[0]?.message).toContain('Submitting');
    expect(
      seen.some((p) => /^Pixelmuse recraft-v4: processing \(job img_\w+\) \(\d+ s\)$/.test(p.message ?? '')),
    ).toBe(true);
    const polls = h.emulator.requests.filter(
      (r) => r.method === 'GET' && r.path.startsWith('/api/v1/images/'),
    );
    expect(polls.length).toBeGreaterThanOrEqual(5);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.progress).toBeGreaterThan(seen[i - 1]!.progress);
      expect(seen[i]!.at - seen[i - 1]!.at).toBeGreaterThanOrEqual(4_900);
    }
    await new Promise((r) => setTimeout(r, 5_300));
    expect(seen.filter((p) => p.at > doneAt)).toHaveLength(0);
  });

  it('sends no progress when the client did not ask for it', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 1_500, maxPreferWaitSeconds: 0 } });
    const result = await h.call('generate_image', { prompt: 'quiet', model: 'flux-schnell' });
    expect(result.isError).toBeFalsy();
    const kinds = h.received.map((m) => (m as { method?: string }).method ?? 'response');
    expect(kinds).not.toContain('notifications/progress');
    expect(kinds).toContain('response');
  });

  it('hands back a clearly labelled STILL RUNNING result with the id, which get_generation then completes', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 2_500 } });
    const result = await h.call('generate_image', {
      prompt: 'patience',
      model: 'recraft-v4',
      max_wait_seconds: 1,
    });
    expect(result.isError).toBeFalsy();
    const text = textOf(result);
    expect(text).toMatch(/^STILL RUNNING \(not finished, not failed\): Pixelmuse job img_\w+/);
    const id = /job (img_\w+)/.exec(text)![1]!;
    expect(text).toContain(`call get_generation with provider "pixelmuse" and id "${id}"`);
    expect(await readdir(h.outputDir)).toEqual([]);
    const resumed = await h.call('get_generation', { provider: 'pixelmuse', id, max_wait_seconds: 10 });
    expect(resumed.isError).toBeFalsy();
    expect(textOf(resumed)).toContain(`Job id: ${id}`);
    expect(savedPaths(resumed)).toHaveLength(1);
    expect(posts(h)).toHaveLength(1);
  });

  it('retries a dropped connection with the same Idempotency-Key and is charged once', async () => {
    h = await startHarness();
    h.emulator.inject({ method: 'POST', path: '/api/v1/images', dropConnection: true });
    const before = h.emulator.credits;
    const result = await h.call('generate_image', { prompt: 'resilient', model: 'imagen-3' });
    expect(result.isError).toBeFalsy();
    const keys = posts(h).map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect(h.emulator.credits).toBe(before - 1);
  });

  it('retries a 503 and a 429 (honouring Retry-After) and succeeds', async () => {
    h = await startHarness();
    h.emulator.inject({ method: 'POST', path: '/api/v1/images', status: 503 });
    h.emulator.inject({
      method: 'POST',
      path: '/api/v1/images',
      status: 429,
      headers: { 'retry-after': '1' },
    });
    const started = Date.now();
    const result = await h.call('generate_image', { prompt: 'eventually', model: 'imagen-3' });
    expect(result.isError).toBeFalsy();
    expect(posts(h)).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('gives up on a long rate limit and says when to retry, keeping code, status and request id', async () => {
    h = await startHarness();
    h.emulator.inject({ path: '/api/v1/images', status: 429, headers: { 'retry-after': '120' }, times: 5 });
    const result = await h.call('generate_image', { prompt: 'too fast', model: 'imagen-3' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/^Pixelmuse refused the request: rate_limit_error \(HTTP 429, request req_\w+\)\./);
    expect(text).toContain('Next: Retry after 120 s');
  });

  it('explains insufficient credits with the cost, the balance and the tool to call', async () => {
    h = await startHarness({ emulator: { credits: 3 } });
    const result = await h.call('generate_image', { prompt: 'too pricey', model: 'nano-banana-pro' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(
      /^Pixelmuse refused the request: insufficient_credits \(HTTP 402, request req_\w+\)\./,
    );
    expect(text).toContain('nano-banana-pro costs 4 credits and the balance is 3. Nothing was charged.');
    expect(text).toContain('Next: Call pixelmuse_buy_credits');
    expect(h.emulator.credits).toBe(3);
  });

  it('reports a content-policy block as blocked and uncharged', async () => {
    h = await startHarness();
    const before = h.emulator.credits;
    const result = await h.call('generate_image', { prompt: 'something forbidden here' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/content_policy_violation \(HTTP 422, request req_\w+\)/);
    expect(textOf(result)).toContain('nothing was charged');
    expect(h.emulator.credits).toBe(before);
  });

  it('names the login command and env var on a rejected key', async () => {
    h = await startHarness({ apiKey: 'pm_test_ffffffffffffffffffffffffffffffff' });
    const result = await h.call('generate_image', { prompt: 'x' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/authentication_error \(HTTP 401, request req_\w+\)/);
    expect(text).toContain('atelier-mcp login pixelmuse');
    expect(text).toContain('PIXELMUSE_API_KEY');
    expect(text).not.toContain('ffffffffffffffffffffffffffffffff');
  });

  it('with no key and no MPP payment set up, gives the price and both ways to pay, sending nothing', async () => {
    h = await startHarness({ apiKey: null, modelslabCredentials: {} });
    const result = await h.call('generate_image', { prompt: 'x' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Not configured: Pixelmuse sells flux-schnell for \$0\.10 per image with MPP, but MPP payment is not configured\.\nNext: To pay per image with MPP, set ATELIER_STRIPE_SECRET_KEY .*`npx atelier-mcp login pixelmuse`/,
    );
    expect(posts(h)).toHaveLength(0);
  });

  it.each([['../outside'], ['/etc'], ['a/../../x']])(
    'rejects output_dir %s before anything is sent',
    async (dir) => {
      h = await startHarness();
      const result = await h.call('generate_image', { prompt: 'x', output_dir: dir });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/^Invalid input: .*output root/s);
      expect(h.emulator.requests).toHaveLength(0);
    },
  );

  it('rejects a filename with a path in it', async () => {
    h = await startHarness();
    const result = await h.call('generate_image', { prompt: 'x', filename: '../../etc/passwd' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid input: /);
    expect(h.emulator.requests).toHaveLength(0);
  });

  it('turns a failed job into an error that keeps the job id', async () => {
    h = await startHarness();
    const result = await h.call('generate_image', { prompt: 'make it explode', model: 'flux-schnell' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/^Pixelmuse refused the request: generation_failed\./);
    expect(text).toMatch(/Job img_\w+ \(flux-schnell\) failed; nothing charged\./);
  });

  it('keeps the job id when polling breaks after the job was created', async () => {
    // The server holds Prefer: wait for 1 s only, so the tool must poll, and every poll fails.
    h = await startHarness({ emulator: { jobDelayMs: 3_000, maxPreferWaitSeconds: 1 } });
    h.emulator.inject({ method: 'GET', path: '/api/v1/images/', status: 500, times: 1_000 });
    const result = await h.call('generate_image', {
      prompt: 'fragile',
      model: 'flux-schnell',
      max_wait_seconds: 10,
    });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    const id = /Pixelmuse job (img_\w+) was created and is not lost\./.exec(text)?.[1];
    expect(id).toBeDefined();
    expect(text).toContain(`Next: Call get_generation with provider "pixelmuse" and id "${id}"`);
    expect(text).toMatch(/api_error \(HTTP 500/);
  });

  it('keeps the job id when the output cannot be downloaded', async () => {
    h = await startHarness();
    h.emulator.inject({ method: 'GET', path: '/cdn/', status: 404, times: 5 });
    const result = await h.call('generate_image', { prompt: 'lost file', model: 'flux-schnell' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Pixelmuse job img_\w+ was created and is not lost\./);
  });

  it('makes count separate jobs, saved under distinct names', async () => {
    h = await startHarness();
    const before = h.emulator.credits;
    const result = await h.call('generate_image', {
      prompt: 'twins',
      model: 'imagen-3',
      count: 2,
      preview: false,
    });
    expect(result.isError).toBeFalsy();
    const paths = savedPaths(result);
    expect(new Set(paths).size).toBe(2);
    expect(h.emulator.credits).toBe(before - 2);
    expect(new Set(posts(h).map((r) => r.headers['idempotency-key'])).size).toBe(2);
  });

  it('reports a partial batch: the saved images, and the failure with its next step', async () => {
    h = await startHarness();
    h.emulator.inject({ method: 'POST', path: '/api/v1/images', status: 402 });
    const result = await h.call('generate_image', {
      prompt: 'half',
      model: 'imagen-3',
      count: 2,
      preview: false,
    });
    expect(result.isError).toBeFalsy();
    const text = textOf(result);
    expect(savedPaths(result)).toHaveLength(1);
    expect(text).toMatch(
      /^FAILED: Pixelmuse refused the request: insufficient_credits \(HTTP 402, request req_\w+\)\./m,
    );
    expect(text).toContain('Next: Call pixelmuse_buy_credits');
  });

  it('stops waiting when the client cancels: no request reaches the provider after the cancel', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 8_000, maxPreferWaitSeconds: 0 } });
    const controller = new AbortController();
    const call = h.call(
      'generate_image',
      { prompt: 'never mind', model: 'recraft-v4' },
      { signal: controller.signal },
    );
    // Cancel once polling is under way.
    while (!h.emulator.requests.some((r) => r.method === 'GET')) await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(call).rejects.toThrow();
    const seen = h.emulator.requests.length;
    await new Promise((r) => setTimeout(r, 2_000));
    expect(h.emulator.requests).toHaveLength(seen);
    expect(h.logs.join('\n')).toMatch(/call cancelled; pixelmuse job img_\w+ may still finish/);
  });

  it('keeps the id of a job created while the call was cancelled during Prefer: wait', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 1_500 } });
    const controller = new AbortController();
    const call = h.call(
      'generate_image',
      { prompt: 'held', model: 'recraft-v4' },
      { signal: controller.signal },
    );
    while (posts(h).length === 0) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    await expect(call).rejects.toThrow();
    // The held create request is allowed to finish: its answer names the paid job, which goes to the log.
    let logged: RegExpExecArray | null = null;
    for (let i = 0; i < 100 && !logged; i++) {
      await new Promise((r) => setTimeout(r, 50));
      logged = /while Pixelmuse created job (img_\w+) \(recraft-v4\).*get_generation/.exec(h.logs.join('\n'));
    }
    const id = logged?.[1];
    expect(id).toBeDefined();
    const listed = await h.call('pixelmuse_list_images', { limit: 5 });
    expect(textOf(listed)).toContain(id);
    const resumed = await h.call('get_generation', { provider: 'pixelmuse', id });
    expect(savedPaths(resumed)).toHaveLength(1);
    expect(posts(h)).toHaveLength(1);
  });

  it('bounds the whole call by max_wait_seconds when the create request hangs', async () => {
    h = await startHarness();
    h.emulator.inject({ method: 'POST', path: '/api/v1/images', delayMs: 60_000 });
    const started = Date.now();
    const result = await h.call('generate_image', {
      prompt: 'stuck',
      model: 'imagen-3',
      max_wait_seconds: 2,
    });
    // Before the deadline bounded it, this took the 60 s of the hang plus retries.
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/Pixelmuse did not answer POST \/api\/v1\/images within the time allowed/);
    expect(posts(h)).toHaveLength(1);
  });

  it('stops retrying a 503ing upstream at the deadline instead of sleeping through Retry-After', async () => {
    h = await startHarness();
    h.emulator.inject({
      method: 'POST',
      path: '/api/v1/images',
      status: 503,
      headers: { 'retry-after': '20' },
      times: 5,
    });
    const started = Date.now();
    const result = await h.call('generate_image', { prompt: 'down', model: 'imagen-3', max_wait_seconds: 2 });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /kept failing until the time allowed for this call ran out \(last: Injected fault/,
    );
    expect(posts(h)).toHaveLength(1);
  });

  it('hands a running job back at the deadline when polling hangs, with its id', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 30_000, maxPreferWaitSeconds: 0 } });
    h.emulator.inject({ method: 'GET', path: '/api/v1/images/', delayMs: 60_000, times: 50 });
    const started = Date.now();
    const result = await h.call('generate_image', {
      prompt: 'slow poll',
      model: 'recraft-v4',
      max_wait_seconds: 2,
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toMatch(/^STILL RUNNING \(not finished, not failed\): Pixelmuse job img_\w+/);
  });

  it('finishes a 9 s job and its resume on a 10 requests/minute account without hitting the limit', async () => {
    h = await startHarness({
      emulator: { jobDelayMs: 9_000, maxPreferWaitSeconds: 0, rateLimitPerMinute: 10 },
    });
    const first = await h.call('generate_image', {
      prompt: 'rate',
      model: 'recraft-v4',
      max_wait_seconds: 3,
    });
    const id = /job (img_\w+)/.exec(textOf(first))![1]!;
    expect(textOf(first)).toMatch(/^STILL RUNNING/);
    const resumed = await h.call('get_generation', { provider: 'pixelmuse', id, max_wait_seconds: 60 });
    expect(resumed.isError).toBeFalsy();
    expect(savedPaths(resumed)).toHaveLength(1);
    const api = h.emulator.requests.filter((r) => r.path.startsWith('/api/v1/images'));
    expect(api.length).toBeLessThanOrEqual(10);
    expect(h.logs.join('\n')).not.toMatch(/HTTP 429|rate_limit/);
  });

  it('keeps the Idempotency-Key of a create whose answer was lost, so the same call again replays instead of paying twice', async () => {
    h = await startHarness({ lossy: (m, p) => m === 'POST' && p === '/api/v1/images' });
    const before = h.emulator.credits;
    const args = { prompt: 'lost answer', model: 'imagen-3', preview: false };
    // The emulator handles every create (and charges the first); our client never hears back, retries included.
    h.proxy!.lose = 4;
    const lost = await h.call('generate_image', args);
    expect(lost.isError).toBe(true);
    expect(textOf(lost)).toContain(
      'The outcome of the create request is unknown: Pixelmuse may have created the job',
    );
    expect(textOf(lost)).toContain(
      'Next: Calling generate_image again with exactly the same arguments (within 24 h) is safe',
    );
    expect(h.emulator.credits).toBe(before - 1);
    const again = await h.call('generate_image', args);
    expect(again.isError).toBeFalsy();
    expect(textOf(again)).toContain('replayed, nothing new charged');
    expect(savedPaths(again)).toHaveLength(1);
    expect(h.emulator.credits).toBe(before - 1);
    expect(new Set(posts(h).map((r) => r.headers['idempotency-key'])).size).toBe(1);
    // Once the outcome is known the key is settled: the same arguments are a new image.
    await h.call('generate_image', args);
    expect(h.emulator.credits).toBe(before - 2);
    expect(new Set(posts(h).map((r) => r.headers['idempotency-key'])).size).toBe(2);
  });

  it('reports every job id of a batch in which every job failed', async () => {
    h = await startHarness();
    h.emulator.inject({ method: 'GET', path: '/cdn/', status: 404, times: 20 });
    const result = await h.call('generate_image', { prompt: 'doomed pair', model: 'flux-schnell', count: 2 });
    expect(result.isError).toBe(true);
    const ids = [...textOf(result).matchAll(/Pixelmuse job (img_\w+) was created and is not lost/g)].map(
      (m) => m[1],
    );
    expect(new Set(ids).size).toBe(2);
  });

  it('reports a canceled job as canceled, not as still running', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 30_000, maxPreferWaitSeconds: 0 } });
    h.emulator.inject({
      method: 'GET',
      path: '/api/v1/images/',
      status: 200,
      body: {
        id: 'img_gone',
        status: 'canceled',
        model: 'recraft-v4',
        prompt: 'p',
        output: null,
        credits_charged: 0,
      },
    });
    const result = await h.call('generate_image', { prompt: 'p', model: 'recraft-v4', max_wait_seconds: 10 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/generation_canceled/);
    expect(textOf(result)).toMatch(/Job img_\w+ \(recraft-v4\) was canceled; nothing charged\./);
  });

  it('saves at most 8 outputs of one job, and a bare string output as one image', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 30_000, maxPreferWaitSeconds: 0 } });
    const made = await h.call('generate_image', { prompt: 'source', model: 'imagen-3', preview: false });
    expect(made.isError).toBeFalsy();
    const url = `${h.emulator.url}/cdn/${/Job id: (\w+)/.exec(textOf(made))![1]}/0.png`;
    const body = {
      id: 'img_many',
      status: 'succeeded',
      model: 'recraft-v4',
      prompt: 'many',
      credits_charged: 1,
    };
    h.emulator.inject({
      method: 'GET',
      path: '/api/v1/images/',
      status: 200,
      body: { ...body, output: Array(12).fill(url) },
    });
    const many = await h.call('generate_image', { prompt: 'many', model: 'recraft-v4', preview: false });
    expect(savedPaths(many)).toHaveLength(8);
    expect(textOf(many)).toContain('12 outputs; the first 8 were saved and 4 skipped (at most 8 per job).');
    h.emulator.inject({
      method: 'GET',
      path: '/api/v1/images/',
      status: 200,
      body: { ...body, output: url },
    });
    const single = await h.call('generate_image', { prompt: 'one', model: 'recraft-v4', preview: false });
    expect(savedPaths(single)).toHaveLength(1);
  });

  it('sends a local input_image as a data URL', async () => {
    h = await startHarness();
    const first = await h.call('generate_image', { prompt: 'base', model: 'imagen-3', preview: false });
    const [path] = savedPaths(first);
    const result = await h.call('generate_image', {
      prompt: 'variation',
      model: 'imagen-3',
      input_image: path,
    });
    expect(result.isError).toBeFalsy();
    expect(String((posts(h)[1]?.body as { image_input?: string }).image_input)).toMatch(
      /^data:image\/png;base64,/,
    );
  });
});
