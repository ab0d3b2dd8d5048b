import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMppSeller, type GenerationResult, type MppSellerOptions } from './pixelmuse/mpp.js';
import { renderImage } from './render.js';

/** The one key the sandbox accepts by default. Shaped like a real test key so redaction and masking apply. */
export const SANDBOX_PIXELMUSE_KEY = 'pm_test_5a4d6b0e8c1f4a7b9e2d3c6f1a8b7e40';

export interface PixelmuseEmulatorOptions {
  /** Default 0 (ephemeral). The host is always 127.0.0.1. */
  port?: number;
  /** Accepted Bearer keys; default [SANDBOX_PIXELMUSE_KEY]. */
  apiKeys?: string[];
  /** Starting balance; default 100. */
  credits?: number;
  /** Completion delay of async models; a number applies to all of them. */
  jobDelayMs?: number | Partial<Record<string, number>>;
  /** The longest the server holds a `Prefer: wait` answer, whatever the client asks (the real one: 55 s). */
  maxPreferWaitSeconds?: number;
  /** Per API key (and per IP on public routes); default 60. */
  rateLimitPerMinute?: number;
  /** Clock for timestamps, rate-limit windows, idempotency and checkout expiry; default Date.now. */
  now?: () => number;
  /** The MPP seller on POST /api/v1/images/generate without a key; `stripe` confirms its SPTs. */
  mpp?: MppSellerOptions;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, the raw text otherwise, undefined when empty. */
  body: unknown;
}

export interface Fault {
  method?: string;
  /** A string matches every pathname that starts with it; a RegExp is tested against the pathname. */
  path: string | RegExp;
  /** Default 500. */
  status?: number;
  /** An object is sent as JSON, a string as-is; default: the standard error envelope for the status. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Default 1. */
  times?: number;
  /** Wait before answering (or before dropping the connection). */
  delayMs?: number;
  /** Destroy the socket without answering (the client sees ECONNRESET / "other side closed"). */
  dropConnection?: boolean;
  /** Answer normally, but with rewrite(body) as the JSON body: echoed secrets, odd outputs, odd ids. */
  rewrite?: (body: Record<string, unknown>) => unknown;
  /** Stream `bytes` bytes (head, `fill` repeated, tail) without ever holding them: a huge answer. */
  huge?: { bytes: number; head?: string; fill?: string; tail?: string; contentLength?: boolean };
  /** Send the body `chunkBytes` at a time, `everyMs` apart: a slow answer. */
  trickle?: { everyMs: number; chunkBytes?: number };
  /** Send only the first `truncateAt` bytes of the body, then drop the connection. */
  truncateAt?: number;
}

export interface PixelmuseEmulator {
  /** Origin without a trailing slash, e.g. http://127.0.0.1:40123. */
  url: string;
  credits: number;
  readonly requests: RecordedRequest[];
  /** The next `times` matching requests get this fault instead of normal handling. */
  inject(fault: Fault): void;
  close(): Promise<void>;
}

type Status = 'pending' | 'processing' | 'succeeded' | 'failed';
type Visibility = 'public' | 'private';

interface ModelSpec {
  id: string;
  name: string;
  description: string;
  credit_cost: number;
  supported_aspect_ratios: string[];
  is_pro: boolean;
  supports_image_input: boolean;
  strengths: string[];
  weaknesses: string[];
  /** Gemini-backed models answer inline (201 + data URI); Replicate-backed ones answer 202 and are polled. */
  mode: 'sync' | 'async';
}

const ASPECT_RATIOS = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'];

const MODELS: ModelSpec[] = [
  {
    id: 'flux-schnell',
    name: 'Flux Schnell',
    description:
      'Fast, low-cost generations from the distilled Flux model. Good for quick mockups and ideation.',
    credit_cost: 1,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: false,
    supports_image_input: false,
    strengths: ['Speed', 'Quick mockups', 'Ideation'],
    weaknesses: ['Text rendering', 'Fine detail'],
    mode: 'async',
  },
  {
    id: 'imagen-3',
    name: 'Imagen 3',
    description: "Google's photorealistic model. Handles complex compositions and natural lighting well.",
    credit_cost: 1,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: false,
    supports_image_input: false,
    strengths: ['Realistic photos', 'Complex compositions'],
    weaknesses: ['Typography'],
    mode: 'sync',
  },
  {
    id: 'nano-banana-pro',
    name: 'Nano Banana Pro',
    description:
      'Gemini image model with strong text rendering, real-time knowledge and multi-image editing.',
    credit_cost: 4,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: true,
    supports_image_input: true,
    strengths: ['Text rendering', 'Real-time info', 'Multi-image editing'],
    weaknesses: ['Cost'],
    mode: 'sync',
  },
  {
    id: 'nano-banana-2',
    name: 'Nano Banana 2',
    description: 'Fast Gemini image model for everyday generations and edits.',
    credit_cost: 1,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: false,
    supports_image_input: true,
    strengths: ['Speed', 'Image editing', 'Text rendering'],
    weaknesses: ['Less detail than Nano Banana Pro'],
    mode: 'sync',
  },
  {
    id: 'recraft-v4',
    name: 'Recraft V4',
    description: 'Design-oriented model with strong typography and layout.',
    credit_cost: 1,
    supported_aspect_ratios: ASPECT_RATIOS,
    is_pro: false,
    supports_image_input: false,
    strengths: ['Typography', 'Design', 'Composition'],
    weaknesses: ['Photorealism'],
    mode: 'async',
  },
  {
    id: 'recraft-v4-pro',
    name: 'Recraft V4 Pro',
    description: 'High-resolution Recraft for art direction and print-ready design.',
    credit_cost: 7,
    // Deliberately narrower so clients meet a model that refuses some ratios.
    supported_aspect_ratios: ['1:1', '16:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16'],
    is_pro: true,
    supports_image_input: false,
    strengths: ['High resolution', 'Art direction'],
    weaknesses: ['Cost', 'Slowest'],
    mode: 'async',
  },
];

const DEFAULT_DELAYS: Record<string, number> = {
  'flux-schnell': 1500,
  'recraft-v4': 3000,
  'recraft-v4-pro': 6000,
};

const PACKAGES = [
  {
    name: 'credit_pack',
    label: 'Credit Pack',
    credits: 100,
    bonus_credits: 0,
    price_usd: 10,
    price_cents: 1000,
  },
];

const USD_PER_CREDIT = 0.1;
const WINDOW_MS = 60_000;
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
const CHECKOUT_TTL_MS = 24 * 60 * 60 * 1000;
const MAX_BODY_BYTES = 20 * 1024 * 1024;
const UPSTREAM_ERROR = 'Upstream model error (sandbox)';

interface ImageRecord {
  id: string;
  model: ModelSpec;
  prompt: string;
  aspectRatio: string;
  visibility: Visibility;
  status: Status;
  output: string[] | null;
  creditsCharged: number;
  error: string | null;
  createdMs: number;
  createdAt: string;
  completedAt: string | null;
  deleted: boolean;
  png?: Promise<Buffer>;
  waiters: Set<() => void>;
}

interface StoredResponse {
  status: number;
  body: unknown;
}

interface IdempotencyEntry {
  canonical: string;
  at: number;
  response: Promise<StoredResponse>;
}

interface Checkout {
  id: string;
  pkg: (typeof PACKAGES)[number];
  expiresMs: number;
  paid: boolean;
}

interface ArmedFault extends Fault {
  remaining: number;
}

interface RateInfo {
  limit: number;
  remaining: number;
  reset: number;
  retryAfter: number;
  limited: boolean;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  method: string;
  path: string;
  query: URLSearchParams;
  raw: string;
  headers: Record<string, string>;
  tooLarge: boolean;
  apiKey: string | null;
  /** Set once the request has been counted, so error answers carry the same X-RateLimit-* values. */
  rate: RateInfo | null;
  rewrite?: (body: Record<string, unknown>) => unknown;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

export async function startPixelmuseEmulator(
  opts: PixelmuseEmulatorOptions = {},
): Promise<PixelmuseEmulator> {
  const now = opts.now ?? Date.now;
  const apiKeys = new Set(opts.apiKeys ?? [SANDBOX_PIXELMUSE_KEY]);
  const rateLimit = opts.rateLimitPerMinute ?? 60;
  const maxPreferWaitSeconds = opts.maxPreferWaitSeconds ?? 55;
  const startedAt = new Date(now()).toISOString();
  let credits = opts.credits ?? 100;
  let url = '';
  let closed = false;
  let lastCreatedMs = 0;

  const requests: RecordedRequest[] = [];
  const faults: ArmedFault[] = [];
  const images: ImageRecord[] = [];
  const byId = new Map<string, ImageRecord>();
  const idempotency = new Map<string, IdempotencyEntry>();
  const windows = new Map<string, { start: number; count: number }>();
  const checkouts = new Map<string, Checkout>();
  // Everything that could keep a handler or the process alive after close().
  const timers = new Set<NodeJS.Timeout>();
  const sleepers = new Set<() => void>();

  const delayFor = (model: string): number => {
    const option = opts.jobDelayMs;
    if (typeof option === 'number') return option;
    return option?.[model] ?? DEFAULT_DELAYS[model] ?? 1500;
  };

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        timers.delete(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timers.add(timer);
      sleepers.add(wake);
    });

  // ---------- responses ----------

  const baseHeaders = (ctx: Ctx): Record<string, string> => {
    const headers: Record<string, string> = { 'X-Request-ID': ctx.requestId };
    const { rate } = ctx;
    if (rate) {
      headers['X-RateLimit-Limit'] = String(rate.limit);
      headers['X-RateLimit-Remaining'] = String(rate.remaining);
      headers['X-RateLimit-Reset'] = String(rate.reset);
    }
    return headers;
  };

  const write = (ctx: Ctx, status: number, headers: Record<string, string>, body?: string | Buffer): void => {
    // A client that hung up during Prefer: wait (or a closed emulator) leaves nobody to answer.
    if (ctx.res.headersSent || ctx.res.destroyed || ctx.res.writableEnded) return;
    ctx.res.writeHead(status, headers);
    ctx.res.end(body);
  };

  const json = (ctx: Ctx, status: number, body: unknown, extra: Record<string, string> = {}) =>
    write(
      ctx,
      status,
      { ...baseHeaders(ctx), 'Content-Type': 'application/json', ...extra },
      JSON.stringify(ctx.rewrite ? ctx.rewrite(body as Record<string, unknown>) : body),
    );

  const errorBody = (ctx: Ctx, code: string, message: string) => ({
    error: { code, message },
    request_id: ctx.requestId,
  });

  const html = (ctx: Ctx, status: number, title: string, content: string) =>
    write(
      ctx,
      status,
      { 'X-Request-ID': ctx.requestId, 'Content-Type': 'text/html; charset=utf-8' },
      `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
        `<body style="font-family:sans-serif;max-width:32rem;margin:4rem auto">${content}</body></html>`,
    );

  // ---------- rate limiting ----------

  const consume = (bucket: string): RateInfo => {
    const t = now();
    let window = windows.get(bucket);
    if (!window || t >= window.start + WINDOW_MS) {
      window = { start: t, count: 0 };
      windows.set(bucket, window);
    }
    window.count += 1;
    const resetMs = window.start + WINDOW_MS;
    return {
      limit: rateLimit,
      remaining: Math.max(0, rateLimit - window.count),
      reset: Math.ceil(resetMs / 1000),
      retryAfter: Math.max(1, Math.ceil((resetMs - t) / 1000)),
      limited: window.count > rateLimit,
    };
  };

  // ---------- images ----------

  const view = (r: ImageRecord) => ({
    id: r.id,
    status: r.status,
    model: r.model.id,
    prompt: r.prompt,
    output: r.output ? [...r.output] : null,
    credits_charged: r.creditsCharged,
    visibility: r.visibility,
    error: r.error,
    created_at: r.createdAt,
    completed_at: r.completedAt,
  });

  const terminal = (r: ImageRecord) => r.status === 'succeeded' || r.status === 'failed';

  const fail = (r: ImageRecord) => {
    r.status = 'failed';
    r.error = UPSTREAM_ERROR;
    r.output = null;
    credits += r.creditsCharged;
    r.creditsCharged = 0;
  };

  const settle = (r: ImageRecord) => {
    for (const wake of [...r.waiters]) wake();
  };

  const completeAsync = (r: ImageRecord) => {
    if (/\bexplode\b/i.test(r.prompt)) fail(r);
    else {
      r.status = 'succeeded';
      r.output = [`${url}/cdn/${r.id}/0.png`];
      r.completedAt = new Date(now()).toISOString();
    }
    settle(r);
  };

  const pngOf = (r: ImageRecord): Promise<Buffer> => {
    r.png ??= renderImage({ prompt: r.prompt, model: r.model.id, aspectRatio: r.aspectRatio }).catch(
      (err) => {
        r.png = undefined;
        throw err;
      },
    );
    return r.png;
  };

  /** Resolves when the job is terminal, `seconds` have passed, the client hung up, or the emulator closed. */
  const waitFor = (r: ImageRecord, seconds: number, res: ServerResponse): Promise<void> =>
    new Promise((resolve) => {
      if (terminal(r)) return resolve();
      const done = () => {
        clearTimeout(timer);
        timers.delete(timer);
        r.waiters.delete(done);
        sleepers.delete(done);
        res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, seconds * 1000);
      timers.add(timer);
      r.waiters.add(done);
      sleepers.add(done);
      res.on('close', done);
    });

  const parseJson = (ctx: Ctx): Record<string, unknown> => {
    if (ctx.raw.trim() === '') throw new ApiError(400, 'invalid_request_error', 'Request body is required.');
    let parsed: unknown;
    try {
      parsed = JSON.parse(ctx.raw);
    } catch {
      throw new ApiError(400, 'invalid_request_error', 'Request body is not valid JSON.');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ApiError(400, 'invalid_request_error', 'Request body must be a JSON object.');
    }
    return parsed as Record<string, unknown>;
  };

  const addRecord = (input: GenerateInput, creditsCharged: number): ImageRecord => {
    const createdMs = Math.max(now(), lastCreatedMs + 1);
    lastCreatedMs = createdMs;
    const record: ImageRecord = {
      id: input.model.mode === 'sync' ? `gemini_${hex(12)}` : `img_${hex(12)}`,
      model: input.model,
      prompt: input.prompt,
      aspectRatio: input.aspectRatio,
      visibility: input.visibility,
      status: 'processing',
      output: null,
      creditsCharged,
      error: null,
      createdMs,
      createdAt: new Date(createdMs).toISOString(),
      completedAt: null,
      deleted: false,
      waiters: new Set(),
    };
    images.push(record);
    byId.set(record.id, record);
    return record;
  };

  const runSync = async (record: ImageRecord): Promise<void> => {
    const png = /\bexplode\b/i.test(record.prompt) ? null : await pngOf(record).catch(() => null);
    if (!png) fail(record);
    else {
      record.status = 'succeeded';
      record.output = [`data:image/png;base64,${png.toString('base64')}`];
      // completed_at stays null: the real service leaves it null on inline (Gemini) results.
    }
    settle(record);
  };

  const startAsync = (record: ImageRecord): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      completeAsync(record);
    }, delayFor(record.model.id));
    timers.add(timer);
  };

  const mpp = createMppSeller({ now, ...opts.mpp });

  /** MPP answers synchronously (its 201 has no processing state): run the job to its end. */
  const generateNow = async (input: GenerateInput, res: ServerResponse): Promise<GenerationResult> => {
    const record = addRecord(input, 0);
    if (record.model.mode === 'sync') await runSync(record);
    else {
      startAsync(record);
      await waitFor(record, 600, res);
    }
    if (record.status !== 'succeeded') return { ok: false, error: record.error ?? UPSTREAM_ERROR };
    const { credits_charged: _credits, ...image } = view(record);
    return { ok: true, view: image };
  };

  const sellWithMpp = async (ctx: Ctx): Promise<void> => {
    const ip = ctx.req.socket.remoteAddress ?? 'unknown';
    const limited = mpp.limit(ip);
    if (limited) return json(ctx, limited.status, limited.body, limited.headers);
    const body = parseJson(ctx);
    const input = validateGenerate(body);
    if (/\bforbidden\b/i.test(input.prompt)) {
      // Moderation runs before payment: no challenge, no charge.
      throw new ApiError(422, 'content_policy_violation', 'The prompt was blocked by content moderation.');
    }
    const answer = await mpp.sell({
      ip,
      authorization: ctx.headers['authorization'],
      idempotencyKey: ctx.headers['idempotency-key'],
      canonicalBody: canonicalJson(body),
      realm: new URL(url).hostname,
      priceCents: Math.round(input.model.credit_cost * USD_PER_CREDIT * 100),
      description: `${input.model.name} image`,
      generate: () => generateNow(input, ctx.res),
    });
    return json(ctx, answer.status, answer.body, answer.headers);
  };

  const createImage = async (ctx: Ctx): Promise<void> => {
    const apiKey = ctx.apiKey ?? '';
    const idemKey = ctx.headers['idempotency-key'];
    if (idemKey !== undefined && (idemKey.length === 0 || idemKey.length > 255)) {
      throw new ApiError(400, 'invalid_request_error', 'Idempotency-Key must be 1 to 255 characters.');
    }
    const body = parseJson(ctx);
    const canonical = canonicalJson(body);
    const idemSlot = idemKey === undefined ? null : `${apiKey}\u0000${idemKey}`;
    if (idemSlot) {
      const entry = idempotency.get(idemSlot);
      if (entry && now() - entry.at < IDEMPOTENCY_TTL_MS) {
        if (entry.canonical !== canonical) {
          throw new ApiError(
            422,
            'idempotency_conflict',
            'This Idempotency-Key was already used with a different request body.',
          );
        }
        const original = await entry.response;
        return json(ctx, original.status, original.body, { 'X-Idempotent-Replayed': 'true' });
      }
    }

    const input = validateGenerate(body);
    if (/\bforbidden\b/i.test(input.prompt)) {
      throw new ApiError(422, 'content_policy_violation', 'The prompt was blocked by content moderation.');
    }
    const model = input.model;
    if (credits < model.credit_cost) {
      throw new ApiError(
        402,
        'insufficient_credits',
        `Insufficient credits. This model requires ${model.credit_cost} credits.`,
      );
    }

    credits -= model.credit_cost;
    const record = addRecord(input, model.credit_cost);

    if (model.mode === 'sync') {
      const response = runSync(record).then((): StoredResponse => ({ status: 201, body: view(record) }));
      if (idemSlot) idempotency.set(idemSlot, { canonical, at: now(), response });
      const answer = await response;
      return json(ctx, answer.status, answer.body);
    }

    startAsync(record);

    let answer: StoredResponse = { status: 202, body: view(record) };
    const entry: IdempotencyEntry | null = idemSlot
      ? { canonical, at: now(), response: Promise.resolve(answer) }
      : null;
    if (idemSlot && entry) idempotency.set(idemSlot, entry);

    const asked = preferWait(ctx.headers['prefer']);
    const wait = asked === null ? null : Math.min(asked, maxPreferWaitSeconds);
    if (wait !== null && wait > 0) {
      await waitFor(record, wait, ctx.res);
      answer = { status: terminal(record) ? 201 : 202, body: view(record) };
      if (entry) entry.response = Promise.resolve(answer);
    }
    return json(ctx, answer.status, answer.body);
  };

  const visibleImage = (id: string): ImageRecord => {
    const record = byId.get(id);
    if (!record || record.deleted) throw new ApiError(404, 'not_found', `Image ${id} not found.`);
    return record;
  };

  const listImages = (ctx: Ctx) => {
    const limitParam = ctx.query.get('limit');
    let limit = 20;
    if (limitParam !== null) {
      limit = /^\d+$/.test(limitParam) ? Number(limitParam) : NaN;
      if (!(limit >= 1 && limit <= 100)) {
        throw new ApiError(400, 'invalid_request_error', 'limit must be an integer from 1 to 100.');
      }
    }
    const cursorParam = ctx.query.get('cursor');
    let before = Infinity;
    if (cursorParam !== null && cursorParam !== '') {
      before = Date.parse(cursorParam);
      if (Number.isNaN(before)) {
        throw new ApiError(400, 'invalid_request_error', 'cursor must be an ISO datetime from next_cursor.');
      }
    }
    const statusParam = ctx.query.get('status');
    if (statusParam !== null && !['pending', 'succeeded', 'failed'].includes(statusParam)) {
      throw new ApiError(400, 'invalid_request_error', 'status must be one of: pending, succeeded, failed.');
    }
    const matches = (r: ImageRecord) => {
      if (r.deleted || r.createdMs >= before) return false;
      if (statusParam === null) return true;
      // "pending" is the filter's name for everything not finished yet.
      if (statusParam === 'pending') return r.status === 'pending' || r.status === 'processing';
      return r.status === statusParam;
    };
    const page: ImageRecord[] = [];
    let hasMore = false;
    for (let i = images.length - 1; i >= 0; i--) {
      const record = images[i];
      if (!record || !matches(record)) continue;
      if (page.length === limit) {
        hasMore = true;
        break;
      }
      page.push(record);
    }
    const last = page[page.length - 1];
    json(ctx, 200, {
      data: page.map(view),
      has_more: hasMore,
      next_cursor: hasMore && last ? last.createdAt : null,
    });
  };

  const usage = (ctx: Ctx) => {
    const t = new Date(now());
    const start = Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), 1);
    const end = Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 1);
    const byModel = new Map<string, { model: string; count: number; credits: number }>();
    let count = 0;
    let used = 0;
    // Deleted images still count: deletion is soft and does not refund.
    for (const r of images) {
      if (r.createdMs < start || r.createdMs >= end) continue;
      count += 1;
      used += r.creditsCharged;
      const row = byModel.get(r.model.id) ?? { model: r.model.id, count: 0, credits: 0 };
      row.count += 1;
      row.credits += r.creditsCharged;
      byModel.set(r.model.id, row);
    }
    json(ctx, 200, {
      period: { start: new Date(start).toISOString(), end: new Date(end).toISOString() },
      generations_count: count,
      credits_used: used,
      by_model: [...byModel.values()].sort((a, b) => a.model.localeCompare(b.model)),
    });
  };

  const createCheckout = (ctx: Ctx) => {
    const body = parseJson(ctx);
    const pkg = PACKAGES.find((p) => p.name === body['package']);
    if (!pkg) {
      throw new ApiError(
        400,
        'invalid_request_error',
        `package must be one of: ${PACKAGES.map((p) => p.name).join(', ')}.`,
      );
    }
    const id = `cs_test_${hex(16)}`;
    const expiresMs = now() + CHECKOUT_TTL_MS;
    checkouts.set(id, { id, pkg, expiresMs, paid: false });
    json(ctx, 201, {
      checkout_url: `${url}/checkout/${id}`,
      session_id: id,
      package: {
        name: pkg.name,
        label: pkg.label,
        credits: pkg.credits,
        bonus_credits: pkg.bonus_credits,
        price_usd: pkg.price_usd,
      },
      expires_at: new Date(expiresMs).toISOString(),
    });
  };

  // ---------- routing ----------

  interface Route {
    method: string;
    pattern: RegExp;
    /** public: no key needed; key: Bearer required; mpp: Bearer, or the MPP 402 when there is no credential. */
    auth: 'public' | 'key' | 'mpp';
    run(ctx: Ctx, params: string[]): void | Promise<void>;
  }

  const modelObject = ({ mode: _mode, ...model }: ModelSpec) => model;

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/api\/v1\/models$/,
      auth: 'public',
      run: (ctx) => json(ctx, 200, { data: MODELS.map(modelObject) }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/models\/([^/]+)$/,
      auth: 'public',
      run: (ctx, [id = '']) => {
        const model = MODELS.find((m) => m.id === id);
        if (!model) throw new ApiError(404, 'not_found', `Model ${id} not found.`);
        json(ctx, 200, modelObject(model));
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/pricing$/,
      auth: 'public',
      run: (ctx) =>
        json(ctx, 200, {
          usd_per_credit: USD_PER_CREDIT,
          models: MODELS.map((m) => ({
            model: m.id,
            name: m.name,
            description: m.description,
            credit_cost: m.credit_cost,
            // Cents first so 7 credits is 0.7, not 0.7000000000000001.
            price_usd: Math.round(m.credit_cost * USD_PER_CREDIT * 100) / 100,
            price_cents: Math.round(m.credit_cost * USD_PER_CREDIT * 100),
            is_pro: m.is_pro,
            supports_image_input: m.supports_image_input,
            supported_aspect_ratios: m.supported_aspect_ratios,
            strengths: m.strengths,
            weaknesses: m.weaknesses,
          })),
          updated_at: startedAt,
        }),
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/billing\/packages$/,
      auth: 'public',
      run: (ctx) => json(ctx, 200, { data: PACKAGES }),
    },
    { method: 'POST', pattern: /^\/api\/v1\/billing\/checkout$/, auth: 'key', run: createCheckout },
    { method: 'POST', pattern: /^\/api\/v1\/images$/, auth: 'key', run: createImage },
    { method: 'POST', pattern: /^\/api\/v1\/images\/generate$/, auth: 'mpp', run: createImage },
    { method: 'GET', pattern: /^\/api\/v1\/images$/, auth: 'key', run: listImages },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/images\/([^/]+)$/,
      auth: 'key',
      run: (ctx, [id = '']) => json(ctx, 200, view(visibleImage(id))),
    },
    {
      method: 'PATCH',
      pattern: /^\/api\/v1\/images\/([^/]+)$/,
      auth: 'key',
      run: (ctx, [id = '']) => {
        const body = parseJson(ctx);
        const record = visibleImage(id);
        const visibility = body['visibility'];
        if (visibility !== 'public' && visibility !== 'private') {
          throw new ApiError(400, 'invalid_request_error', 'visibility must be "public" or "private".');
        }
        record.visibility = visibility;
        json(ctx, 200, view(record));
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/api\/v1\/images\/([^/]+)$/,
      auth: 'key',
      run: (ctx, [id = '']) => {
        visibleImage(id).deleted = true;
        write(ctx, 204, baseHeaders(ctx));
      },
    },
    {
      method: 'GET',
      pattern: /^\/api\/v1\/account$/,
      auth: 'key',
      run: (ctx) =>
        json(ctx, 200, {
          user_id: 'user_sandbox',
          email: 'sandbox@atelier.test',
          plan: 'free',
          credits: { total: credits, subscription: 0, purchased: credits },
          rate_limit: { requests_per_minute: rateLimit },
        }),
    },
    { method: 'GET', pattern: /^\/api\/v1\/account\/usage$/, auth: 'key', run: usage },
  ];

  const handleApi = async (ctx: Ctx): Promise<void> => {
    let route: Route | undefined;
    let params: string[] = [];
    for (const candidate of routes) {
      if (candidate.method !== ctx.method) continue;
      const match = candidate.pattern.exec(ctx.path);
      if (match) {
        route = candidate;
        params = match.slice(1).map((p) => safeDecode(p));
        break;
      }
    }

    const authorization = ctx.headers['authorization'];
    const bearer = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] : undefined;
    const validKey = bearer !== undefined && apiKeys.has(bearer) ? bearer : null;
    const ip = ctx.req.socket.remoteAddress ?? 'unknown';
    const rate = consume(validKey ? `key:${validKey}` : `ip:${ip}`);
    ctx.rate = rate;
    if (rate.limited) {
      throw new ApiError(429, 'rate_limit_error', 'Rate limit exceeded. Slow down and retry later.', {
        'Retry-After': String(rate.retryAfter),
      });
    }
    if (!route) throw new ApiError(404, 'not_found', `No route for ${ctx.method} ${ctx.path}.`);
    if (ctx.tooLarge) throw new ApiError(413, 'invalid_request_error', 'Request body is too large.');

    // Without a Bearer key the generate endpoint is MPP: a 402 challenge, or the paid retry.
    if (route.auth === 'mpp' && bearer === undefined) return sellWithMpp(ctx);
    if (route.auth !== 'public' && !validKey) {
      throw new ApiError(401, 'authentication_error', 'Invalid API key.');
    }
    ctx.apiKey = validKey;
    await route.run(ctx, params);
  };

  const handleSite = async (ctx: Ctx): Promise<boolean> => {
    const cdn = /^\/cdn\/([^/]+)\/0\.png$/.exec(ctx.path);
    if (cdn && ctx.method === 'GET') {
      const record = byId.get(safeDecode(cdn[1] ?? ''));
      if (!record || record.deleted || record.status !== 'succeeded') {
        write(ctx, 404, { 'X-Request-ID': ctx.requestId, 'Content-Type': 'text/plain' }, 'Not found');
        return true;
      }
      const png = await pngOf(record);
      write(
        ctx,
        200,
        { 'X-Request-ID': ctx.requestId, 'Content-Type': 'image/png', 'Content-Length': String(png.length) },
        png,
      );
      return true;
    }

    const page = /^\/checkout\/([^/]+)$/.exec(ctx.path);
    if (page && (ctx.method === 'GET' || ctx.method === 'POST')) {
      const session = checkouts.get(safeDecode(page[1] ?? ''));
      if (!session) {
        html(ctx, 404, 'Not found', '<h1>Checkout session not found</h1>');
        return true;
      }
      const { pkg } = session;
      const price = `$${pkg.price_usd.toFixed(2)}`;
      const credited = pkg.credits + pkg.bonus_credits;
      if (session.paid) {
        html(
          ctx,
          200,
          'Paid',
          `<h1>Paid</h1><p>This session is already paid; no credits were added again.</p>`,
        );
      } else if (now() > session.expiresMs) {
        html(ctx, 410, 'Expired', '<h1>Checkout session expired</h1>');
      } else if (ctx.method === 'GET') {
        html(
          ctx,
          200,
          'Sandbox checkout',
          `<h1>atelier-mcp sandbox checkout</h1>` +
            `<p>This is the sandbox checkout. No real money moves.</p>` +
            `<p>${escapeHtml(pkg.label)}: ${credited} credits for ${price}.</p>` +
            `<form method="post" action="/checkout/${escapeHtml(session.id)}"><button type="submit">Pay ${price}</button></form>`,
        );
      } else {
        session.paid = true;
        credits += credited;
        html(
          ctx,
          200,
          'Paid',
          `<h1>Paid</h1><p>${credited} credits were added. You can close this page.</p>`,
        );
      }
      return true;
    }
    return false;
  };

  // ---------- hostile upstream: huge, slow and truncated bodies ----------

  const hostileAnswer = async (ctx: Ctx, fault: ArmedFault): Promise<void> => {
    const { res } = ctx;
    const huge = fault.huge;
    const payload = Buffer.from(
      typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body ?? { ok: true }),
    );
    const head = Buffer.from(huge?.head ?? '');
    const tail = Buffer.from(huge?.tail ?? '');
    const total = huge ? Math.max(huge.bytes, head.length + tail.length) : payload.length;
    const headers: Record<string, string> = {
      'X-Request-ID': ctx.requestId,
      'Content-Type': 'application/json',
      ...fault.headers,
    };
    if (!huge || huge.contentLength) headers['Content-Length'] = String(total);
    res.writeHead(fault.status ?? 200, headers);
    const fill = Buffer.alloc(64 * 1024, huge?.fill ?? ' ');
    function* pieces(): Generator<Buffer> {
      if (!huge) return yield payload;
      yield head;
      for (let left = total - head.length - tail.length; left > 0; left -= fill.length)
        yield fill.subarray(0, Math.min(fill.length, left));
      yield tail;
    }
    const limit = Math.min(total, fault.truncateAt ?? total);
    const step = fault.trickle ? (fault.trickle.chunkBytes ?? 1) : Infinity;
    let sent = 0;
    outer: for (const piece of pieces()) {
      for (let at = 0; at < piece.length; at += step) {
        if (sent >= limit || res.destroyed || closed) break outer;
        const chunk = piece.subarray(at, Math.min(at + step, piece.length, at + limit - sent));
        sent += chunk.length;
        // Waiting for each write to be flushed: a socket destroyed with writes pending sends none of them.
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('close', done);
            resolve();
          };
          res.once('close', done);
          res.write(chunk, done);
        });
        if (fault.trickle) await sleep(fault.trickle.everyMs);
      }
    }
    if (sent < total) ctx.req.socket.destroy();
    else res.end();
  };

  const applyFault = async (ctx: Ctx): Promise<boolean> => {
    const index = faults.findIndex((f) => {
      if (f.method && f.method.toUpperCase() !== ctx.method) return false;
      if (typeof f.path === 'string') return ctx.path.startsWith(f.path);
      f.path.lastIndex = 0;
      return f.path.test(ctx.path);
    });
    const fault = faults[index];
    if (!fault) return false;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(index, 1);

    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.dropConnection) {
      ctx.req.socket.destroy();
      return true;
    }
    if (fault.rewrite) {
      ctx.rewrite = fault.rewrite;
      return false;
    }
    if (fault.huge || fault.trickle || fault.truncateAt !== undefined) {
      await hostileAnswer(ctx, fault);
      return true;
    }
    const status = fault.status ?? 500;
    let payload: string | undefined;
    let type: string | undefined;
    if (typeof fault.body === 'string') {
      payload = fault.body;
      type = 'text/plain; charset=utf-8';
    } else if (fault.body !== undefined) {
      payload = JSON.stringify(fault.body);
      type = 'application/json';
    } else if (status !== 204 && status !== 304) {
      payload = JSON.stringify(
        errorBody(ctx, codeForStatus(status), `Injected fault (sandbox): HTTP ${status}.`),
      );
      type = 'application/json';
    }
    const headers: Record<string, string> = { 'X-Request-ID': ctx.requestId };
    if (type) headers['Content-Type'] = type;
    write(ctx, status, { ...headers, ...fault.headers }, payload);
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = `req_${hex(8)}`;
    const { text: raw, tooLarge } = await readBody(req);
    const parsedUrl = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const path = parsedUrl.pathname.length > 1 ? parsedUrl.pathname.replace(/\/+$/, '') : parsedUrl.pathname;
    const headers = flattenHeaders(req.headers);
    const method = (req.method ?? 'GET').toUpperCase();
    requests.push({
      method,
      path,
      query: Object.fromEntries(parsedUrl.searchParams),
      headers,
      body: recordedBody(raw),
    });
    const ctx: Ctx = {
      req,
      res,
      requestId,
      method,
      path,
      query: parsedUrl.searchParams,
      raw,
      headers,
      tooLarge,
      apiKey: null,
      rate: null,
    };

    if (await applyFault(ctx)) return;
    if (await handleSite(ctx)) return;
    try {
      await handleApi(ctx);
    } catch (err) {
      const apiError =
        err instanceof ApiError ? err : new ApiError(500, 'api_error', 'Internal sandbox error.');
      json(ctx, apiError.status, errorBody(ctx, apiError.code, apiError.message), apiError.headers);
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Nothing may be printed (stdout is JSON-RPC); answer if we still can, else drop the socket.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'api_error', message: 'Internal sandbox error.' } }));
      } else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    get credits() {
      return credits;
    },
    set credits(value: number) {
      credits = value;
    },
    requests,
    inject(fault: Fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const wake of [...sleepers]) wake();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

// ---------- pure helpers ----------

interface GenerateInput {
  prompt: string;
  model: ModelSpec;
  aspectRatio: string;
  visibility: Visibility;
}

function validateGenerate(body: Record<string, unknown>): GenerateInput {
  const bad = (message: string) => new ApiError(400, 'invalid_request_error', message);
  const { prompt, model, aspect_ratio, negative_prompt, image_input, visibility } = body;

  if (prompt === undefined) throw bad('prompt is required.');
  if (typeof prompt !== 'string') throw bad('prompt must be a string.');
  if (prompt.length < 1) throw bad('prompt must not be empty.');
  if (prompt.length > 10_000) throw bad('prompt must be at most 10000 characters.');

  if (model === undefined) throw bad('model is required.');
  const spec = MODELS.find((m) => m.id === model);
  if (!spec) throw bad(`model must be one of: ${MODELS.map((m) => m.id).join(', ')}.`);

  if (
    aspect_ratio !== undefined &&
    (typeof aspect_ratio !== 'string' || !ASPECT_RATIOS.includes(aspect_ratio))
  ) {
    throw bad(`aspect_ratio must be one of: ${ASPECT_RATIOS.join(', ')}.`);
  }
  const ratio = aspect_ratio ?? '1:1';
  if (!spec.supported_aspect_ratios.includes(ratio)) {
    throw bad(
      `aspect_ratio ${ratio} is not supported by ${spec.id}; supported: ${spec.supported_aspect_ratios.join(', ')}.`,
    );
  }

  if (negative_prompt !== undefined && typeof negative_prompt !== 'string') {
    throw bad('negative_prompt must be a string.');
  }
  if (typeof negative_prompt === 'string' && negative_prompt.length > 5000) {
    throw bad('negative_prompt must be at most 5000 characters.');
  }
  if (image_input !== undefined && typeof image_input !== 'string')
    throw bad('image_input must be a string.');
  if (visibility !== undefined && visibility !== 'public' && visibility !== 'private') {
    throw bad('visibility must be "public" or "private".');
  }
  return { prompt, model: spec, aspectRatio: ratio, visibility: visibility ?? 'private' };
}

/** `Prefer: wait=N` (RFC 7240) in seconds, capped at 60; bare `wait` means the cap. Null when absent. */
function preferWait(header: string | undefined): number | null {
  if (!header) return null;
  for (const part of header.split(/[,;]/)) {
    const match = /^\s*wait\s*(?:=\s*"?(\d+(?:\.\d+)?)"?)?\s*$/i.exec(part);
    if (match) return match[1] === undefined ? 60 : Math.min(60, Number(match[1]));
  }
  return null;
}

/** JSON with object keys sorted, so {"a":1,"b":2} and {"b":2,"a":1} are the same request. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    402: 'insufficient_credits',
    404: 'not_found',
    422: 'content_policy_violation',
    429: 'rate_limit_error',
    503: 'service_unavailable',
  };
  return codes[status] ?? 'api_error';
}

async function readBody(req: IncomingMessage): Promise<{ text: string; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  try {
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(buffer);
    }
  } catch {
    // The client went away mid-body; whatever arrived is all there is.
  }
  return { text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge };
}

function recordedBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
