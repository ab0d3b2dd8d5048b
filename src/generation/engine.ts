import type { ToolContext } from '../context.js';
import { AtelierError, annotate, DeadlineError, PROVIDER_LABEL, ProviderError } from '../errors.js';
import { isUnknownOutcome } from '../spend/outcome.js';
import { sleep } from '../http/retry.js';
import { whenNextRequestSent } from '../http/sent.js';
import type { Target } from '../media/index.js';
import type { GenerationAdapter, Job, RateLimit } from './adapter.js';
import { resumeNext, type JobOutcome } from './outcome.js';

export type EngineContext = Pick<ToolContext, 'media' | 'signal' | 'progress' | 'log' | 'spend'>;

/** More outputs than this from one job are not saved (a broken or hostile upstream could send hundreds). */
export const MAX_OUTPUTS_PER_JOB = 8;
/** A job id is worth more than punctuality: the create request gets at least this long, even past the deadline. */
export const MIN_CREATE_MS = 5_000;
/** Kept free before the deadline for one last check, so a job that just finished is not reported as running. */
const FINAL_CHECK_MS = 1_000;

export interface GenerateOptions {
  count: number;
  /** Epoch ms: max_wait_seconds from the start of the call. */
  deadline: number;
  target: Target;
  /** For progress and the log. */
  model: string;
  /** The result shows a preview: make it from the first job's first output while that output is saved. */
  preview?: boolean;
}

/** Submit `count` jobs (each its own idempotency key), wait for them up to the deadline and save their outputs. */
export async function generate<R>(
  ctx: EngineContext,
  adapter: GenerationAdapter<R>,
  request: R,
  opts: GenerateOptions,
): Promise<PromiseSettledResult<JobOutcome>[]> {
  const label = PROVIDER_LABEL[adapter.provider];
  ctx.progress(
    `Submitting ${opts.count > 1 ? `${opts.count} jobs` : 'the job'} to ${label} (${opts.model}) and waiting for the image`,
  );
  // A create answer that comes only when the job is done leaves no other idle moment to load in.
  const stopWarming = adapter.holdsCreate ? warmOnceSent(ctx) : () => {};
  // Files are named in the order of the batch, not in the order its jobs finish: the first job's image is cat.png
  // and the second's cat-2.png, as the result lists them. A job names its files once the job before it has named
  // its own or ended; it downloads meanwhile.
  let previousNamed: Promise<void> = Promise.resolve();
  const jobs = Array.from({ length: opts.count }, async (_, index) => {
    const turn = previousNamed;
    let named!: () => void;
    previousNamed = new Promise((resolve) => (named = resolve));
    try {
      const started = Date.now();
      const { job, replayed, settled } = await submit(ctx, adapter, request, { ...opts, started, index });
      ctx.log.info(`${adapter.provider} job ${job.id} (${job.model}) created: ${job.status}`);
      try {
        return await finish(ctx, adapter, job, {
          started,
          deadline: opts.deadline,
          target: opts.target,
          replayed,
          preview: opts.preview === true && index === 0,
          turn,
        });
      } finally {
        // Answered only once the key is settled: the same call made right after the result is a new job.
        await settled;
      }
    } finally {
      named();
    }
  });
  return Promise.allSettled(jobs).finally(stopWarming);
}

/** get_generation: pick up a job by id, wait for it up to the deadline and save its outputs. */
export async function resume(
  ctx: EngineContext,
  adapter: GenerationAdapter,
  id: string,
  opts: { deadline: number; target: Target; preview?: boolean },
): Promise<PromiseSettledResult<JobOutcome>[]> {
  const started = Date.now();
  const stopWarming = warmOnceSent(ctx);
  try {
    const job = await adapter.lookup(id, {
      signal: ctx.signal,
      deadline: Math.max(opts.deadline, started + MIN_CREATE_MS),
    });
    return await Promise.allSettled([finish(ctx, adapter, job, { started, ...opts })]);
  } finally {
    stopWarming();
  }
}

/**
 * Saving needs sharp, whose loading blocks the event loop for tens of ms (far more on a busy machine). It loads
 * while the provider works: once the request is out, or as the wait for the next check begins. Not when the job
 * has completed (the time a user waits for the result), nor before the request (delaying the job itself).
 */
function warmOnceSent(ctx: EngineContext): () => void {
  return whenNextRequestSent(() => ctx.media.warm());
}

/**
 * The create request is not cancelled with the call: a job the provider creates meanwhile (Pixelmuse holds
 * the answer with Prefer: wait) is paid for, so its id must reach the log even though nobody awaits the result.
 * Its Idempotency-Key is durable and belongs to this exact request (and its place in the batch): while the
 * outcome is unknown, the same call made again resends it and the provider replays instead of charging twice.
 */
async function submit<R>(
  ctx: EngineContext,
  adapter: GenerationAdapter<R>,
  request: R,
  opts: GenerateOptions & { started: number; index: number },
): Promise<{ job: Job; replayed: boolean; settled: Promise<void> }> {
  if (ctx.signal.aborted) throw ctx.signal.reason;
  const pending = ctx.spend
    .once({
      operation: `generate:${adapter.provider}`,
      args: { request, job: opts.index },
      send: (idempotencyKey) =>
        adapter.submit(request, {
          idempotencyKey,
          deadline: Math.max(opts.deadline, opts.started + MIN_CREATE_MS),
          waitUntil: opts.deadline - FINAL_CHECK_MS,
        }),
    })
    .then(
      // The key is removed (a file deleted and synced) while the outputs download, not before.
      ({ value, replayed, settled }) => {
        if (replayed)
          ctx.log.info(
            `${adapter.provider}: an identical create request had an unknown outcome; its Idempotency-Key was resent`,
          );
        return { ...value, settled };
      },
      (error: unknown) => {
        throw isUnknownOutcome(error) ? explainUnknownOutcome(error, adapter) : error;
      },
    );
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(ctx.signal.reason);
      pending.then(
        ({ job }) =>
          ctx.log.warn(
            `the call was cancelled while ${PROVIDER_LABEL[adapter.provider]} created job ${job.id} (${job.model}); ` +
              `it may be charged and keeps running: ${resumeNext(adapter.provider, job.id)}`,
          ),
        (error: unknown) =>
          ctx.log.info(`a cancelled create request ended without a job: ${(error as Error).message}`),
      );
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (value) => {
        ctx.signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        ctx.signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function explainUnknownOutcome(error: unknown, adapter: GenerationAdapter): unknown {
  const label = PROVIDER_LABEL[adapter.provider];
  // A provider client may already know more (an id read from a cut-off answer): its advice comes first.
  const earlier = error instanceof AtelierError && error.next ? `${error.next} ` : '';
  const advice = adapter.replaysIdempotencyKey
    ? `Calling generate_image again with exactly the same arguments (within 24 h) is ${earlier ? 'also ' : ''}safe: ` +
      `it resends the same Idempotency-Key, so ${label} returns that job instead of charging again.`
    : `${label} does not replay create requests, so calling again may pay twice: check the recent charges on the account first.`;
  return annotate(error, {
    facts: [
      `The outcome of the create request is unknown: ${label} may have created the job and charged for it.`,
    ],
    next: earlier + advice,
  });
}

/** Wait for a job that exists and save what it made; whatever breaks, the error keeps the job id. */
async function finish(
  ctx: EngineContext,
  adapter: GenerationAdapter,
  first: Job,
  opts: {
    started: number;
    deadline: number;
    target: Target;
    replayed?: boolean;
    preview?: boolean;
    /** Resolves when this job may name its files (the batch's jobs before it have named theirs). */
    turn?: Promise<void>;
  },
): Promise<JobOutcome> {
  const { provider } = adapter;
  const { id } = first;
  try {
    const job = await waitFor(ctx, adapter, first, opts.deadline);
    const seenDoneAt = Date.now();
    const base = {
      provider,
      id,
      model: job.model,
      ...(job.prompt !== undefined ? { prompt: job.prompt } : {}),
      replayed: opts.replayed,
      saved: [],
      urls: [],
      cost: job.cost,
      notes: [...(job.notes ?? [])],
      elapsedMs: seenDoneAt - opts.started,
    };
    switch (job.state) {
      case 'running':
        ctx.log.info(`${provider} job ${id} still ${job.status} at the deadline; handed back to the agent`);
        return { ...base, state: 'running', urls: job.futureLinks ?? [] };
      case 'failed':
      case 'canceled':
        return { ...base, state: job.state, error: job.error };
      case 'succeeded': {
        const { saved, firstBytes, urls, skipped, preview } = await save(ctx, adapter, job, opts);
        if (skipped > 0)
          base.notes.push(
            `${job.outputs.length} outputs; the first ${MAX_OUTPUTS_PER_JOB} were saved and ${skipped} skipped (at most ${MAX_OUTPUTS_PER_JOB} per job).`,
          );
        return {
          ...base,
          state: 'succeeded',
          saved,
          urls,
          ...(preview ? { preview } : { firstBytes }),
          elapsedMs: Date.now() - opts.started,
          seenDoneAt,
        };
      }
    }
  } catch (error) {
    if (ctx.signal.aborted)
      ctx.log.warn(`call cancelled; ${provider} job ${id} may still finish: ${resumeNext(provider, id)}`);
    throw annotate(error, {
      facts: [`${PROVIDER_LABEL[provider]} job ${id} was created and is not lost.`],
      next: `${capitalise(resumeNext(provider, id))}.`,
    });
  }
}

async function waitFor(
  ctx: EngineContext,
  adapter: GenerationAdapter,
  first: Job,
  deadline: number,
): Promise<Job> {
  let job = first;
  // Say at once what the provider said (its status and eta): the first check may be seconds away.
  if (job.state === 'running') {
    ctx.progress(progressLine(adapter, job), { etaSeconds: job.etaSeconds });
    // The first check is a while off: what saving needs loads meanwhile.
    ctx.media.warm();
  }
  while (job.state === 'running') {
    const now = Date.now();
    const left = deadline - now;
    if (left <= 0) break;
    const interval = paceForRateLimit(
      adapter.nextCheckMs(job, Math.max(0, now - job.createdAt)),
      adapter.rateLimit(),
      now,
    );
    const pause = Math.min(interval, Math.max(0, left - FINAL_CHECK_MS));
    await sleep(pause, ctx.signal);
    try {
      job = await adapter.check(job, { signal: ctx.signal, deadline });
    } catch (error) {
      // The job runs on whether or not we could see it: at the deadline it is handed back, not failed.
      if (error instanceof DeadlineError) break;
      throw error;
    }
    ctx.progress(
      progressLine(adapter, job),
      job.state === 'running' ? { etaSeconds: job.etaSeconds } : undefined,
    );
    if (pause < interval) break;
  }
  return job;
}

function progressLine(adapter: GenerationAdapter, job: Job): string {
  const eta =
    job.etaSeconds !== undefined && job.state === 'running'
      ? `, about ${Math.ceil(job.etaSeconds)} s left`
      : '';
  return `${PROVIDER_LABEL[adapter.provider]} ${job.model}: ${job.status}${eta} (job ${job.id})`;
}

/**
 * Stretch the interval when the rate limit runs low: what is left of the window is spread over the time
 * until it resets, so that a long job (and the resume after it) never runs into 429s.
 */
export function paceForRateLimit(intervalMs: number, rate: RateLimit, now: number): number {
  const { limit, remaining, resetAt } = rate;
  if (remaining === undefined || resetAt === undefined) return intervalMs;
  const untilReset = Math.max(0, resetAt - now);
  if (remaining <= 0) return Math.max(intervalMs, untilReset);
  if (remaining > (limit === undefined ? 5 : limit / 2)) return intervalMs;
  return Math.max(intervalMs, Math.ceil(untilReset / remaining));
}

async function save(
  ctx: EngineContext,
  adapter: GenerationAdapter,
  job: Job,
  { target, preview, turn }: { target: Target; preview?: boolean; turn?: Promise<void> },
): Promise<Pick<JobOutcome, 'saved' | 'firstBytes' | 'urls' | 'preview'> & { skipped: number }> {
  if (job.outputs.length === 0) {
    throw new ProviderError({
      provider: adapter.provider,
      code: 'no_output',
      message: `${PROVIDER_LABEL[adapter.provider]} marked job ${job.id} succeeded but returned no output.`,
    });
  }
  const kept = job.outputs.slice(0, MAX_OUTPUTS_PER_JOB);
  ctx.progress(`Saving ${kept.length} output(s) of job ${job.id}`);
  const saved = [];
  let firstBytes: Buffer | undefined;
  let previewing: JobOutcome['preview'];
  for (const ref of kept) {
    const bytes = await ctx.media.load(ref, { signal: ctx.signal, provider: adapter.provider });
    firstBytes ??= bytes;
    // Encoding the preview (CPU) overlaps writing and syncing the file (disk); it never rejects.
    if (preview && !previewing) previewing = ctx.media.preview(bytes);
    const source = ref.startsWith('data:') ? undefined : ref;
    await turn;
    saved.push(await ctx.media.save(bytes, target, { fallbackName: job.prompt || job.id, source }));
  }
  return {
    saved,
    firstBytes,
    urls: kept.filter((o) => !o.startsWith('data:')),
    skipped: job.outputs.length - kept.length,
    ...(previewing ? { preview: previewing } : {}),
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
