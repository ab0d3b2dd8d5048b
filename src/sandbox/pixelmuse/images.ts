import type { ServerResponse } from 'node:http';
import { ApiError, json, parseJsonObject, type Exchange } from '../core/exchange.js';
import { canonicalJson, ReplayStore, type StoredResponse } from '../core/idempotency.js';
import { hex, type EmulatorServer } from '../core/server.js';
import { renderImage } from '../render.js';
import { DEFAULT_DELAYS, USD_PER_CREDIT, type ModelSpec, type Status, type Visibility } from './catalog.js';
import { createMppSeller, type GenerationResult, type MppSellerOptions } from './mpp.js';
import { preferWait, validateGenerate, type GenerateInput } from './validate.js';

export type PixelmuseExchange = Exchange & { apiKey: string | null };

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

export interface ImagesOptions {
  server: EmulatorServer;
  now: () => number;
  /** The account's balance, shared with billing (checkout adds to it). */
  account: { credits: number };
  /** Completion delay of async models; a number applies to all of them. */
  jobDelayMs?: number | Partial<Record<string, number>>;
  maxPreferWaitSeconds: number;
  /** The MPP seller on POST /api/v1/images/generate without a key; `stripe` confirms its SPTs. */
  mpp?: MppSellerOptions;
}

/** The image lifecycle: create (sync, async, held by Prefer: wait, replayed), read, list, usage. */
export function createImages({
  server,
  now,
  account,
  jobDelayMs,
  maxPreferWaitSeconds,
  mpp: mppOptions,
}: ImagesOptions) {
  let lastCreatedMs = 0;
  const images: ImageRecord[] = [];
  const byId = new Map<string, ImageRecord>();
  const replays = new ReplayStore(
    now,
    () =>
      new ApiError(
        422,
        'idempotency_conflict',
        'This Idempotency-Key was already used with a different request body.',
      ),
  );

  const delayFor = (model: string): number => {
    if (typeof jobDelayMs === 'number') return jobDelayMs;
    return jobDelayMs?.[model] ?? DEFAULT_DELAYS[model] ?? 1500;
  };

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
    account.credits += r.creditsCharged;
    r.creditsCharged = 0;
  };

  const settle = (r: ImageRecord) => {
    for (const wake of [...r.waiters]) wake();
  };

  const completeAsync = (r: ImageRecord) => {
    if (/\bexplode\b/i.test(r.prompt)) fail(r);
    else {
      r.status = 'succeeded';
      r.output = [`${server.url}/cdn/${r.id}/0.png`];
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
        server.timers.delete(timer);
        r.waiters.delete(done);
        server.sleepers.delete(done);
        res.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, seconds * 1000);
      server.timers.add(timer);
      r.waiters.add(done);
      server.sleepers.add(done);
      res.on('close', done);
    });

  const parseJson = (ctx: PixelmuseExchange): Record<string, unknown> =>
    parseJsonObject(ctx, (message) => new ApiError(400, 'invalid_request_error', message));

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
    // The image is drawn while the job runs, as a real provider has it on its CDN when the job completes: the
    // time from completion to a saved file is then the client's, not the sandbox's drawing.
    if (!/\bexplode\b/i.test(record.prompt)) pngOf(record).catch(() => undefined);
    server.later(delayFor(record.model.id), () => completeAsync(record));
  };

  const mpp = createMppSeller({ now, ...mppOptions });

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

  const sellWithMpp = async (ctx: PixelmuseExchange): Promise<void> => {
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
      realm: new URL(server.url).hostname,
      priceCents: Math.round(input.model.credit_cost * USD_PER_CREDIT * 100),
      description: `${input.model.name} image`,
      generate: () => generateNow(input, ctx.res),
    });
    return json(ctx, answer.status, answer.body, answer.headers);
  };

  const createImage = async (ctx: PixelmuseExchange): Promise<void> => {
    const apiKey = ctx.apiKey ?? '';
    const idemKey = ctx.headers['idempotency-key'];
    if (idemKey !== undefined && (idemKey.length === 0 || idemKey.length > 255)) {
      throw new ApiError(400, 'invalid_request_error', 'Idempotency-Key must be 1 to 255 characters.');
    }
    const body = parseJson(ctx);
    const canonical = canonicalJson(body);
    const idemSlot = idemKey === undefined ? null : `${apiKey}\u0000${idemKey}`;
    if (idemSlot) {
      const original = await replays.replay(idemSlot, canonical);
      if (original) return json(ctx, original.status, original.body, { 'X-Idempotent-Replayed': 'true' });
    }

    const input = validateGenerate(body);
    if (/\bforbidden\b/i.test(input.prompt)) {
      throw new ApiError(422, 'content_policy_violation', 'The prompt was blocked by content moderation.');
    }
    const model = input.model;
    if (account.credits < model.credit_cost) {
      throw new ApiError(
        402,
        'insufficient_credits',
        `Insufficient credits. This model requires ${model.credit_cost} credits.`,
      );
    }

    account.credits -= model.credit_cost;
    const record = addRecord(input, model.credit_cost);

    if (model.mode === 'sync') {
      const response = runSync(record).then((): StoredResponse => ({ status: 201, body: view(record) }));
      if (idemSlot) replays.remember(idemSlot, canonical, response);
      const answer = await response;
      return json(ctx, answer.status, answer.body);
    }

    startAsync(record);

    let answer: StoredResponse = { status: 202, body: view(record) };
    const entry = idemSlot ? replays.remember(idemSlot, canonical, Promise.resolve(answer)) : null;

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

  const listImages = (ctx: PixelmuseExchange) => {
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

  const usage = (ctx: PixelmuseExchange) => {
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

  return { view, createImage, sellWithMpp, visibleImage, listImages, usage, pngOf, parseJson, byId };
}
