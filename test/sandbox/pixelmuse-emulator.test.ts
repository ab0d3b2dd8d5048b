import { afterEach, describe, expect, it } from 'vitest';
import {
  SANDBOX_PIXELMUSE_KEY,
  startPixelmuseEmulator,
  startSandbox,
  type PixelmuseEmulator,
  type PixelmuseEmulatorOptions,
} from '../../src/sandbox/index.js';

interface Image {
  id: string;
  status: string;
  model: string;
  prompt: string;
  output: string[] | null;
  credits_charged: number;
  visibility: string;
  error: string | null;
  created_at: string;
  completed_at: string | null;
}

interface ErrorBody {
  error: { code: string; message: string };
  request_id: string;
}

let emu: PixelmuseEmulator | undefined;

afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(opts: PixelmuseEmulatorOptions = {}): Promise<PixelmuseEmulator> {
  emu = await startPixelmuseEmulator({ jobDelayMs: 150, ...opts });
  return emu;
}

function call(
  path: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string>; key?: string | null } = {},
): Promise<Response> {
  if (!emu) throw new Error('emulator not started');
  const headers: Record<string, string> = { ...init.headers };
  const key = init.key === undefined ? SANDBOX_PIXELMUSE_KEY : init.key;
  if (key !== null) headers['Authorization'] = `Bearer ${key}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  }
  return fetch(`${emu.url}${path}`, { method: init.method ?? (body ? 'POST' : 'GET'), headers, body });
}

const generate = (body: unknown, headers: Record<string, string> = {}) =>
  call('/api/v1/images', { method: 'POST', body, headers });

async function poll(id: string, until: (img: Image) => boolean, timeoutMs = 5000): Promise<Image> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(`/api/v1/images/${id}`);
    expect(res.status).toBe(200);
    const img = (await res.json()) as Image;
    if (until(img)) return img;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${id}; last status ${img.status}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

async function pngSize(bytes: Buffer): Promise<{ width?: number; height?: number; format?: string }> {
  const { default: sharp } = await import('sharp');
  const meta = await sharp(bytes).metadata();
  return { width: meta.width, height: meta.height, format: meta.format };
}

function decodeDataUri(uri: string): Buffer {
  expect(uri.startsWith('data:image/png;base64,')).toBe(true);
  return Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64');
}

describe('envelope, models and public routes', () => {
  it('lists models publicly with request id and rate-limit headers on every answer', async () => {
    const { url } = await start();
    const res = await fetch(`${url}/api/v1/models`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_[0-9a-f]+$/);
    expect(res.headers.get('x-ratelimit-limit')).toBe('60');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('59');
    const reset = Number(res.headers.get('x-ratelimit-reset'));
    expect(reset).toBeGreaterThan(Date.now() / 1000);
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 60);

    const { data } = (await res.json()) as { data: Array<Record<string, unknown>> };
    expect(data.map((m) => m['id'])).toEqual([
      'flux-schnell',
      'imagen-3',
      'nano-banana-pro',
      'nano-banana-2',
      'recraft-v4',
      'recraft-v4-pro',
    ]);
    const costs = Object.fromEntries(data.map((m) => [m['id'], m['credit_cost']]));
    expect(costs).toEqual({
      'flux-schnell': 1,
      'imagen-3': 1,
      'nano-banana-pro': 4,
      'nano-banana-2': 1,
      'recraft-v4': 1,
      'recraft-v4-pro': 7,
    });
    for (const model of data) {
      expect(Object.keys(model).sort()).toEqual(
        [
          'credit_cost',
          'description',
          'id',
          'is_pro',
          'name',
          'strengths',
          'supported_aspect_ratios',
          'supports_image_input',
          'weaknesses',
        ].sort(),
      );
    }
  });

  it('answers a bare model object by id, 404 not_found for an unknown one, same id in header and body', async () => {
    const { url } = await start();
    const one = await fetch(`${url}/api/v1/models/recraft-v4-pro`);
    expect(await one.json()).toMatchObject({ id: 'recraft-v4-pro', credit_cost: 7, is_pro: true });

    const missing = await fetch(`${url}/api/v1/models/dall-e`);
    expect(missing.status).toBe(404);
    const body = (await missing.json()) as ErrorBody;
    expect(body.error.code).toBe('not_found');
    expect(body.request_id).toBe(missing.headers.get('x-request-id'));
  });

  it('serves pricing and packages without a key', async () => {
    const { url } = await start();
    const pricing = (await (await fetch(`${url}/api/v1/pricing`)).json()) as {
      usd_per_credit: number;
      models: Array<{ model: string; price_usd: number; price_cents: number }>;
      updated_at: string;
    };
    expect(pricing.usd_per_credit).toBe(0.1);
    expect(pricing.models.find((m) => m.model === 'recraft-v4-pro')).toMatchObject({
      price_usd: 0.7,
      price_cents: 70,
    });
    expect(pricing.models.find((m) => m.model === 'flux-schnell')).toMatchObject({
      price_usd: 0.1,
      price_cents: 10,
    });
    expect(Number.isNaN(Date.parse(pricing.updated_at))).toBe(false);

    const packages = await (await fetch(`${url}/api/v1/billing/packages`)).json();
    expect(packages).toEqual({
      data: [
        {
          name: 'credit_pack',
          label: 'Credit Pack',
          credits: 100,
          bonus_credits: 0,
          price_usd: 10,
          price_cents: 1000,
        },
      ],
    });
  });

  it('answers 404 not_found for unknown routes and 400 for malformed JSON', async () => {
    await start();
    const unknown = await call('/api/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorBody).error.code).toBe('not_found');

    const malformed = await call('/api/v1/images', { method: 'POST', body: '{"prompt": "a cat",' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as ErrorBody).error.code).toBe('invalid_request_error');
  });
});

describe('authentication and rate limits', () => {
  it('rejects a missing or unknown key with 401 authentication_error', async () => {
    await start();
    for (const key of [null, 'pm_live_not_a_real_key']) {
      const res = await call('/api/v1/account', { key });
      expect(res.status).toBe(401);
      const body = (await res.json()) as ErrorBody;
      expect(body.error).toEqual({ code: 'authentication_error', message: 'Invalid API key.' });
    }
    expect((await call('/api/v1/account')).status).toBe(200);
  });

  it('accepts only the configured keys', async () => {
    await start({ apiKeys: ['pm_test_other'] });
    expect((await call('/api/v1/account')).status).toBe(401);
    expect((await call('/api/v1/account', { key: 'pm_test_other' })).status).toBe(200);
  });

  it('answers 429 with Retry-After once the per-key window is used up, and recovers in the next window', async () => {
    let clock = Date.parse('2026-03-01T12:00:00.000Z');
    await start({ rateLimitPerMinute: 3, now: () => clock });
    for (let i = 0; i < 3; i++) {
      const ok = await call('/api/v1/account');
      expect(ok.status).toBe(200);
      expect(ok.headers.get('x-ratelimit-remaining')).toBe(String(2 - i));
    }
    clock += 20_000;
    const limited = await call('/api/v1/account');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('40');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset')).toBe(
      String(Date.parse('2026-03-01T12:01:00.000Z') / 1000),
    );
    expect(((await limited.json()) as ErrorBody).error.code).toBe('rate_limit_error');

    // Public routes are counted per IP, not against the key.
    expect((await call('/api/v1/models', { key: null })).status).toBe(200);

    clock += 40_000;
    expect((await call('/api/v1/account')).status).toBe(200);
  });

  it('gives a Retry-After of at least 1 second on the real clock', async () => {
    await start({ rateLimitPerMinute: 1 });
    expect((await call('/api/v1/account')).status).toBe(200);
    const limited = await call('/api/v1/account');
    expect(limited.status).toBe(429);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
  });

  it('answers /images/generate without credentials with an RFC 9457 402, and like /images with a key', async () => {
    const { url } = await start();
    const unpaid = await fetch(`${url}/api/v1/images/generate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'a cat', model: 'imagen-3' }),
    });
    expect(unpaid.status).toBe(402);
    expect(unpaid.headers.get('content-type')).toBe('application/problem+json');
    expect(await unpaid.json()).toMatchObject({
      type: 'https://paymentauth.org/problems/payment-required',
      status: 402,
      title: expect.any(String),
      detail: expect.any(String),
    });

    const keyed = await call('/api/v1/images/generate', { body: { prompt: 'a cat', model: 'imagen-3' } });
    expect(keyed.status).toBe(201);
    expect(((await keyed.json()) as Image).status).toBe('succeeded');

    const badKey = await call('/api/v1/images/generate', {
      body: { prompt: 'a cat', model: 'imagen-3' },
      key: 'pm_live_wrong',
    });
    expect(badKey.status).toBe(401);
  });
});

describe('generation', () => {
  it('answers sync models with 201 and a real PNG data URI sized to the aspect ratio', async () => {
    const e = await start();
    const cases = [
      { model: 'imagen-3', aspect_ratio: '16:9', width: 1024, height: 576, cost: 1 },
      { model: 'nano-banana-pro', aspect_ratio: '9:16', width: 576, height: 1024, cost: 4 },
    ];
    for (const c of cases) {
      const res = await generate({
        prompt: `a lighthouse ${c.aspect_ratio}`,
        model: c.model,
        aspect_ratio: c.aspect_ratio,
      });
      expect(res.status).toBe(201);
      const img = (await res.json()) as Image;
      expect(img).toMatchObject({
        status: 'succeeded',
        model: c.model,
        credits_charged: c.cost,
        visibility: 'private',
        error: null,
        completed_at: null,
      });
      expect(img.id).toMatch(/^gemini_[0-9a-f]+$/);
      expect(img.output).toHaveLength(1);
      const size = await pngSize(decodeDataUri(img.output?.[0] ?? ''));
      expect(size).toEqual({ width: c.width, height: c.height, format: 'png' });
    }
    expect(e.credits).toBe(95);
  });

  it('refuses nano-banana-2 and fields outside the OpenAPI GenerateImageRequest, charging nothing', async () => {
    const e = await start();
    const banana = await generate({ prompt: 'a banana', model: 'nano-banana-2' });
    expect(banana.status).toBe(400);
    const extra = await generate({ prompt: 'a banana', model: 'flux-schnell', style: 'anime' });
    expect(extra.status).toBe(400);
    expect(((await extra.json()) as { error: { message: string } }).error.message).toMatch(/style/);
    expect(e.credits).toBe(100);
  });

  it('answers async models with 202, completes after the delay, and serves the PNG from the CDN URL', async () => {
    const e = await start({ jobDelayMs: 200 });
    const started = Date.now();
    const res = await generate({ prompt: 'a red fox', model: 'flux-schnell', aspect_ratio: '4:5' });
    expect(res.status).toBe(202);
    const created = (await res.json()) as Image;
    expect(created).toMatchObject({
      status: 'processing',
      output: null,
      credits_charged: 1,
      completed_at: null,
    });
    expect(created.id).toMatch(/^img_[0-9a-f]+$/);
    expect(e.credits).toBe(99);

    const done = await poll(created.id, (img) => img.status !== 'processing');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(done.status).toBe('succeeded');
    expect(done.output).toEqual([`${e.url}/cdn/${created.id}/0.png`]);
    expect(Number.isNaN(Date.parse(done.completed_at ?? ''))).toBe(false);

    const download = await fetch(done.output?.[0] ?? '');
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(await pngSize(Buffer.from(await download.arrayBuffer()))).toEqual({
      width: 819,
      height: 1024,
      format: 'png',
    });
  });

  it('holds the answer with Prefer: wait until a short job finishes (201)', async () => {
    await start({ jobDelayMs: 150 });
    const started = Date.now();
    const res = await generate({ prompt: 'a heron', model: 'recraft-v4' }, { Prefer: 'wait=5' });
    expect(res.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(2000);
    const img = (await res.json()) as Image;
    expect(img.status).toBe('succeeded');
    expect(img.output?.[0]).toMatch(/\/cdn\/img_[0-9a-f]+\/0\.png$/);
  });

  it('answers 202 processing when Prefer: wait is shorter than the job', async () => {
    await start({ jobDelayMs: { 'flux-schnell': 3000 } });
    const started = Date.now();
    const res = await generate({ prompt: 'a slow tortoise', model: 'flux-schnell' }, { Prefer: 'wait=1' });
    const elapsed = Date.now() - started;
    expect(res.status).toBe(202);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(2500);
    expect(((await res.json()) as Image).status).toBe('processing');
  });

  it('survives a client that hangs up during Prefer: wait', async () => {
    const e = await start({ jobDelayMs: 400 });
    const controller = new AbortController();
    const pending = fetch(`${e.url}/api/v1/images`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${SANDBOX_PIXELMUSE_KEY}`,
        Prefer: 'wait=10',
        'Content-Type': 'application/json',
      },
      body: JSON.stringify({ prompt: 'an impatient client', model: 'flux-schnell' }),
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 500));
    const list = (await (await call('/api/v1/images')).json()) as { data: Image[] };
    expect(list.data).toHaveLength(1);
    expect(list.data[0]?.status).toBe('succeeded');
  });

  it('fails an "explode" job and refunds its credits, async and sync', async () => {
    const e = await start();
    const res = await generate({ prompt: 'the engine will Explode', model: 'recraft-v4-pro' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as Image;
    expect(e.credits).toBe(93);
    const failed = await poll(id, (img) => img.status !== 'processing');
    expect(failed).toMatchObject({
      status: 'failed',
      error: 'Upstream model error (sandbox)',
      output: null,
      credits_charged: 0,
      completed_at: null,
    });
    expect(e.credits).toBe(100);

    const sync = await generate({ prompt: 'explode now', model: 'nano-banana-pro' });
    expect(sync.status).toBe(201);
    expect(await sync.json()).toMatchObject({ status: 'failed', output: null, credits_charged: 0 });
    expect(e.credits).toBe(100);
  });

  it('refuses with 402 insufficient_credits naming the cost, and charges nothing', async () => {
    const e = await start({ credits: 3 });
    const res = await generate({ prompt: 'a castle', model: 'nano-banana-pro' });
    expect(res.status).toBe(402);
    expect(((await res.json()) as ErrorBody).error).toEqual({
      code: 'insufficient_credits',
      message: 'Insufficient credits. This model requires 4 credits.',
    });
    expect(e.credits).toBe(3);
    expect((await generate({ prompt: 'a castle', model: 'imagen-3' })).status).toBe(201);
    expect(e.credits).toBe(2);
  });

  it('blocks the whole word "forbidden" with 422 content_policy_violation and charges nothing', async () => {
    const e = await start();
    const res = await generate({ prompt: 'the FORBIDDEN fruit', model: 'imagen-3' });
    expect(res.status).toBe(422);
    expect(((await res.json()) as ErrorBody).error.code).toBe('content_policy_violation');
    expect(e.credits).toBe(100);
    expect((await generate({ prompt: 'forbiddenness as a theme', model: 'imagen-3' })).status).toBe(201);
    expect(e.credits).toBe(99);
  });

  it.each([
    [{ model: 'imagen-3' }, 'prompt'],
    [{ prompt: '', model: 'imagen-3' }, 'prompt'],
    [{ prompt: 'x'.repeat(10_001), model: 'imagen-3' }, 'prompt'],
    [{ prompt: 'a cat' }, 'model'],
    [{ prompt: 'a cat', model: 'dall-e-3' }, 'model'],
    [{ prompt: 'a cat', model: 'imagen-3', aspect_ratio: '7:5' }, 'aspect_ratio'],
    [{ prompt: 'a cat', model: 'recraft-v4-pro', aspect_ratio: '21:9' }, 'aspect_ratio'],
    [{ prompt: 'a cat', model: 'imagen-3', negative_prompt: 'x'.repeat(5001) }, 'negative_prompt'],
    [{ prompt: 'a cat', model: 'imagen-3', image_input: 42 }, 'image_input'],
    [{ prompt: 'a cat', model: 'imagen-3', visibility: 'friends' }, 'visibility'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const e = await start();
    const res = await generate(body);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as ErrorBody;
    expect(error.code).toBe('invalid_request_error');
    expect(error.message).toContain(field);
    expect(e.credits).toBe(100);
  });

  it('takes visibility, a field of the OpenAPI request', async () => {
    await start();
    const res = await generate({ prompt: 'a cat', model: 'imagen-3', visibility: 'public' });
    expect(res.status).toBe(201);
    expect(((await res.json()) as Image).visibility).toBe('public');
  });
});

describe('idempotency', () => {
  it('replays the original answer for the same key and body, without charging or creating a job', async () => {
    const e = await start();
    const headers = { 'Idempotency-Key': 'retry-1' };
    const first = await generate({ prompt: 'a cat', model: 'flux-schnell', aspect_ratio: '1:1' }, headers);
    expect(first.status).toBe(202);
    expect(first.headers.get('x-idempotent-replayed')).toBeNull();
    const original = (await first.json()) as Image;
    await poll(original.id, (img) => img.status === 'succeeded');

    // Same body with keys in another order is the same request.
    const again = await generate({ aspect_ratio: '1:1', model: 'flux-schnell', prompt: 'a cat' }, headers);
    expect(again.status).toBe(202);
    expect(again.headers.get('x-idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(original);
    expect(e.credits).toBe(99);
    const list = (await (await call('/api/v1/images')).json()) as { data: Image[] };
    expect(list.data).toHaveLength(1);
  });

  it('replays a sync 201 and scopes keys per request body', async () => {
    const e = await start();
    const headers = { 'Idempotency-Key': 'sync-1' };
    const first = (await (await generate({ prompt: 'a dog', model: 'imagen-3' }, headers)).json()) as Image;
    const replay = await generate({ prompt: 'a dog', model: 'imagen-3' }, headers);
    expect(replay.status).toBe(201);
    expect(((await replay.json()) as Image).id).toBe(first.id);
    expect(e.credits).toBe(99);

    const conflict = await generate({ prompt: 'a different dog', model: 'imagen-3' }, headers);
    expect(conflict.status).toBe(422);
    expect(((await conflict.json()) as ErrorBody).error.code).toBe('idempotency_conflict');
    expect(e.credits).toBe(99);
  });

  it('expires keys after 24 hours and rejects keys longer than 255 characters', async () => {
    let clock = Date.parse('2026-03-01T00:00:00.000Z');
    const e = await start({ now: () => clock });
    const headers = { 'Idempotency-Key': 'day-1' };
    await generate({ prompt: 'a dog', model: 'imagen-3' }, headers);
    clock += 24 * 60 * 60 * 1000 + 1;
    const fresh = await generate({ prompt: 'a dog', model: 'imagen-3' }, headers);
    expect(fresh.headers.get('x-idempotent-replayed')).toBeNull();
    expect(e.credits).toBe(98);

    const tooLong = await generate(
      { prompt: 'a dog', model: 'imagen-3' },
      { 'Idempotency-Key': 'k'.repeat(256) },
    );
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as ErrorBody).error.message).toContain('Idempotency-Key');
  });

  it('does not create two jobs when the same key arrives twice at once', async () => {
    const e = await start();
    const body = { prompt: 'twins', model: 'imagen-3' };
    const headers = { 'Idempotency-Key': 'race' };
    const [a, b] = await Promise.all([generate(body, headers), generate(body, headers)]);
    const [ia, ib] = (await Promise.all([a.json(), b.json()])) as Image[];
    expect(ia?.id).toBe(ib?.id);
    expect(e.credits).toBe(99);
  });
});

describe('history', () => {
  async function seed(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const res = await generate({ prompt: `job ${i}`, model: 'flux-schnell' });
      ids.push(((await res.json()) as Image).id);
    }
    return ids;
  }

  it('pages newest first across 3 pages with has_more and timestamp cursors', async () => {
    // A fixed clock puts every job in the same millisecond: created_at must still be strictly increasing.
    const fixed = Date.parse('2026-03-01T09:00:00.000Z');
    await start({ jobDelayMs: 60_000, now: () => fixed });
    const ids = await seed(7);

    const seen: Image[] = [];
    const pages: Array<{ size: number; has_more: boolean; next_cursor: string | null }> = [];
    let cursor: string | null = null;
    do {
      const query: string = `limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await call(`/api/v1/images?${query}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: Image[]; has_more: boolean; next_cursor: string | null };
      pages.push({ size: page.data.length, has_more: page.has_more, next_cursor: page.next_cursor });
      seen.push(...page.data);
      cursor = page.next_cursor;
      if (page.has_more) expect(page.next_cursor).toBe(page.data[page.data.length - 1]?.created_at);
    } while (cursor);

    expect(pages.map((p) => [p.size, p.has_more])).toEqual([
      [3, true],
      [3, true],
      [1, false],
    ]);
    expect(pages[2]?.next_cursor).toBeNull();
    expect(seen.map((img) => img.id)).toEqual([...ids].reverse());
    const times = seen.map((img) => Date.parse(img.created_at));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeLessThan(times[i - 1] ?? 0);
  });

  it('filters by status (pending covers processing) and validates the query', async () => {
    await start({ jobDelayMs: 60_000 });
    const ok = (await (await generate({ prompt: 'fine', model: 'imagen-3' })).json()) as Image;
    const bad = (await (await generate({ prompt: 'explode', model: 'imagen-3' })).json()) as Image;
    const slow = (await (await generate({ prompt: 'slow', model: 'flux-schnell' })).json()) as Image;

    const ids = async (status: string) =>
      ((await (await call(`/api/v1/images?status=${status}`)).json()) as { data: Image[] }).data.map(
        (i) => i.id,
      );
    expect(await ids('succeeded')).toEqual([ok.id]);
    expect(await ids('failed')).toEqual([bad.id]);
    expect(await ids('pending')).toEqual([slow.id]);

    for (const query of ['status=done', 'limit=0', 'limit=101', 'limit=abc', 'cursor=yesterday']) {
      const res = await call(`/api/v1/images?${query}`);
      expect(res.status, query).toBe(400);
    }
    const all = (await (await call('/api/v1/images?limit=100')).json()) as {
      has_more: boolean;
      data: Image[];
    };
    expect(all.data).toHaveLength(3);
    expect(all.has_more).toBe(false);
  });

  it('updates visibility with PATCH', async () => {
    await start();
    const img = (await (await generate({ prompt: 'a vase', model: 'imagen-3' })).json()) as Image;
    const patched = await call(`/api/v1/images/${img.id}`, {
      method: 'PATCH',
      body: { visibility: 'public' },
    });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as Image).visibility).toBe('public');
    expect(((await (await call(`/api/v1/images/${img.id}`)).json()) as Image).visibility).toBe('public');

    const invalid = await call(`/api/v1/images/${img.id}`, {
      method: 'PATCH',
      body: { visibility: 'everyone' },
    });
    expect(invalid.status).toBe(400);
    const unknown = await call('/api/v1/images/img_missing', {
      method: 'PATCH',
      body: { visibility: 'public' },
    });
    expect(unknown.status).toBe(404);
  });

  it('deletes with 204 and no body; the image is then gone from GET, listings and the CDN', async () => {
    const e = await start();
    const res = await generate({ prompt: 'a pear', model: 'flux-schnell' }, { Prefer: 'wait=5' });
    const img = (await res.json()) as Image;
    expect(img.status).toBe('succeeded');

    const deleted = await call(`/api/v1/images/${img.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect(deleted.headers.get('x-request-id')).toMatch(/^req_/);

    const gone = await call(`/api/v1/images/${img.id}`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as ErrorBody).error.code).toBe('not_found');
    const list = (await (await call('/api/v1/images')).json()) as { data: Image[] };
    expect(list.data).toHaveLength(0);
    expect((await fetch(`${e.url}/cdn/${img.id}/0.png`)).status).toBe(404);
    expect((await call(`/api/v1/images/${img.id}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('account and billing', () => {
  it('reports the balance and usage by model', async () => {
    await start({ credits: 50, rateLimitPerMinute: 30 });
    await generate({ prompt: 'one', model: 'imagen-3' });
    await generate({ prompt: 'two', model: 'nano-banana-pro' });
    await generate({ prompt: 'three', model: 'imagen-3' });
    await generate({ prompt: 'explode', model: 'imagen-3' });

    expect(await (await call('/api/v1/account')).json()).toEqual({
      user_id: expect.any(String),
      email: 'sandbox@atelier.test',
      plan: 'free',
      credits: { total: 44, subscription: 0, purchased: 44 },
      rate_limit: { requests_per_minute: 30 },
    });
    const usage = (await (await call('/api/v1/account/usage')).json()) as Record<string, unknown>;
    expect(usage).toMatchObject({
      generations_count: 4,
      credits_used: 6,
      by_model: [
        { model: 'imagen-3', count: 3, credits: 2 },
        { model: 'nano-banana-pro', count: 1, credits: 4 },
      ],
    });
    const period = usage['period'] as { start: string; end: string };
    expect(Date.parse(period.start)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(period.end)).toBeGreaterThan(Date.now());
  });

  it('creates a checkout whose page pays once and adds the credits once', async () => {
    const e = await start({ credits: 0 });
    const res = await call('/api/v1/billing/checkout', { body: { package: 'credit_pack' } });
    expect(res.status).toBe(201);
    const checkout = (await res.json()) as {
      checkout_url: string;
      session_id: string;
      package: Record<string, unknown>;
      expires_at: string;
    };
    expect(checkout.session_id).toMatch(/^cs_test_[0-9a-f]+$/);
    expect(checkout.checkout_url).toBe(`${e.url}/checkout/${checkout.session_id}`);
    expect(checkout.package).toEqual({
      name: 'credit_pack',
      label: 'Credit Pack',
      credits: 100,
      bonus_credits: 0,
      price_usd: 10,
    });
    const ttl = Date.parse(checkout.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(23.9 * 3600_000);
    expect(ttl).toBeLessThanOrEqual(24 * 3600_000);

    const page = await fetch(checkout.checkout_url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const text = await page.text();
    expect(text).toContain('sandbox checkout');
    expect(text).toContain('Pay $10.00');
    expect(e.credits).toBe(0);

    const paid = await fetch(checkout.checkout_url, { method: 'POST' });
    expect(paid.status).toBe(200);
    expect(await paid.text()).toContain('Paid');
    expect(e.credits).toBe(100);
    await fetch(checkout.checkout_url, { method: 'POST' });
    expect(e.credits).toBe(100);

    expect((await fetch(`${e.url}/checkout/cs_test_unknown`)).status).toBe(404);
    const badPackage = await call('/api/v1/billing/checkout', { body: { package: 'mega_pack' } });
    expect(badPackage.status).toBe(400);
    expect(((await badPackage.json()) as ErrorBody).error.message).toContain('package');
  });

  it('lets tests set the balance directly', async () => {
    const e = await start();
    e.credits = 0;
    expect((await generate({ prompt: 'a cat', model: 'imagen-3' })).status).toBe(402);
  });
});

describe('fault injection and recording', () => {
  it('answers the next matching requests with the fault, then normally; all are recorded', async () => {
    const e = await start();
    e.inject({ method: 'POST', path: '/api/v1/images', status: 503, times: 2 });
    const body = { prompt: 'a cat', model: 'imagen-3' };
    const first = await generate(body);
    expect(first.status).toBe(503);
    const envelope = (await first.json()) as ErrorBody;
    expect(envelope.error.code).toBe('service_unavailable');
    expect(envelope.request_id).toBe(first.headers.get('x-request-id'));
    expect((await generate(body)).status).toBe(503);
    expect(e.credits).toBe(100);
    expect((await generate(body)).status).toBe(201);
    expect(e.credits).toBe(99);

    const posts = e.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(3);
    expect(posts[0]).toMatchObject({ path: '/api/v1/images', body });
    expect(posts[0]?.headers['authorization']).toBe(`Bearer ${SANDBOX_PIXELMUSE_KEY}`);
  });

  it('sends the error-body variants of the real service as given, and takes precedence over auth', async () => {
    const e = await start();
    e.inject({ path: /^\/api\/v1\/account$/, status: 400, body: { error: 'plain string error' } });
    e.inject({ path: '/api/v1/account', status: 500, body: { message: 'top-level message', code: 'boom' } });
    e.inject({
      path: '/api/v1/account',
      status: 429,
      body: 'Too Many Requests',
      headers: { 'Retry-After': '2' },
    });

    const a = await call('/api/v1/account', { key: null });
    expect(a.status).toBe(400);
    expect(await a.json()).toEqual({ error: 'plain string error' });
    const b = await call('/api/v1/account');
    expect(await b.json()).toEqual({ message: 'top-level message', code: 'boom' });
    const c = await call('/api/v1/account');
    expect(c.status).toBe(429);
    expect(c.headers.get('retry-after')).toBe('2');
    expect(await c.text()).toBe('Too Many Requests');
    expect((await call('/api/v1/account')).status).toBe(200);
    expect(e.requests.map((r) => r.path)).toEqual(Array(4).fill('/api/v1/account'));
  });

  it('drops the connection, delays, and only matches the given method and path', async () => {
    const e = await start();
    e.inject({ method: 'POST', path: '/api/v1/images', dropConnection: true });
    e.inject({ method: 'GET', path: '/api/v1/models', delayMs: 300, status: 502 });

    await expect(generate({ prompt: 'a cat', model: 'imagen-3' })).rejects.toThrow();
    expect(e.credits).toBe(100);
    expect((await call('/api/v1/images')).status).toBe(200);

    const started = Date.now();
    const slow = await call('/api/v1/models');
    expect(slow.status).toBe(502);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect((await generate({ prompt: 'a cat', model: 'imagen-3' })).status).toBe(201);
  });
});

describe('lifecycle', () => {
  it('closes promptly with pending jobs and a held Prefer: wait request', async () => {
    const e = await start({ jobDelayMs: 60_000 });
    await generate({ prompt: 'never finishes', model: 'flux-schnell' });
    const held = generate({ prompt: 'held', model: 'flux-schnell' }, { Prefer: 'wait=60' }).catch(
      (err: unknown) => err,
    );
    await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    await e.close();
    expect(Date.now() - started).toBeLessThan(1000);
    await held;
    emu = undefined;
  });

  it('startSandbox exposes the emulator and its url, and closes it', async () => {
    const sandbox = await startSandbox({ pixelmuse: { credits: 7 } });
    try {
      expect(sandbox.urls.pixelmuse).toBe(sandbox.pixelmuse.url);
      expect(sandbox.urls.pixelmuse).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${sandbox.urls.pixelmuse}/api/v1/account`, {
        headers: { Authorization: `Bearer ${SANDBOX_PIXELMUSE_KEY}` },
      });
      expect(((await res.json()) as { credits: { total: number } }).credits.total).toBe(7);
    } finally {
      await sandbox.close();
    }
    await expect(fetch(`${sandbox.urls.pixelmuse}/api/v1/models`)).rejects.toThrow();
  });

  it('uses a fixed, well-formed sandbox key', () => {
    expect(SANDBOX_PIXELMUSE_KEY).toMatch(/^pm_test_[0-9a-f]{32}$/);
  });
});
