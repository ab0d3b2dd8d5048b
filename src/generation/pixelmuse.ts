import type { ToolContext } from '../context.js';
import { annotate, ProviderError } from '../errors.js';
import { newIdempotencyKey } from '../http/client.js';
import type { Target } from '../media/index.js';
import { pollImage } from '../providers/pixelmuse/poll.js';
import type { CreateImageRequest, ImageObject } from '../providers/pixelmuse/types.js';
import { plural, resumeNext, type JobOutcome } from './outcome.js';

type Ctx = Pick<ToolContext, 'pixelmuse' | 'media' | 'signal' | 'progress' | 'log'>;

/** Prefer: wait longer than this risks proxies and clients cutting the request; polling takes over. */
const MAX_PREFER_WAIT_S = 50;

/** Submit `count` generations (each its own job and idempotency key), wait up to the deadline, save outputs. */
export async function generateOnPixelmuse(
  ctx: Ctx,
  body: CreateImageRequest,
  opts: { count: number; deadline: number; target: Target },
): Promise<PromiseSettledResult<JobOutcome>[]> {
  ctx.progress(
    `Submitting ${opts.count > 1 ? `${opts.count} jobs` : 'the job'} to Pixelmuse (${body.model}) and waiting for the image`,
  );
  const jobs = Array.from({ length: opts.count }, () =>
    submitAndFinish(ctx, body, opts.deadline, opts.target),
  );
  return Promise.allSettled(jobs);
}

async function submitAndFinish(
  ctx: Ctx,
  body: CreateImageRequest,
  deadline: number,
  target: Target,
): Promise<JobOutcome> {
  const started = Date.now();
  const waitSeconds = Math.min(MAX_PREFER_WAIT_S, (deadline - started) / 1000);
  let created;
  try {
    created = await ctx.pixelmuse.createImage(body, {
      idempotencyKey: newIdempotencyKey('atelier-img'),
      waitSeconds,
      signal: ctx.signal,
    });
  } catch (error) {
    if (error instanceof ProviderError && error.status === 402)
      await explainInsufficientCredits(ctx, body.model, error);
    throw error;
  }
  ctx.log.info(`pixelmuse job ${created.image.id} (${body.model}) answered ${created.status}`);
  return finish(ctx, created.image, { started, deadline, target, replayed: created.replayed });
}

/** Wait for a job that already exists and save what it made; used by generate_image and get_generation. */
export async function finish(
  ctx: Ctx,
  first: ImageObject,
  opts: { started: number; deadline: number; target: Target; replayed?: boolean },
): Promise<JobOutcome> {
  const { id } = first;
  const base = {
    provider: 'pixelmuse' as const,
    id,
    model: first.model,
    replayed: opts.replayed,
    saved: [],
    urls: [],
  };
  try {
    const polled = await pollImage(ctx.pixelmuse, first, {
      deadline: opts.deadline,
      signal: ctx.signal,
      onUpdate: (image) => ctx.progress(`Pixelmuse ${image.model}: ${image.status} (job ${id})`),
    });
    const image = polled.image;
    const seenDoneAt = Date.now();
    const charged = image.credits_charged;
    if (!polled.finished) {
      ctx.log.info(`pixelmuse job ${id} still ${image.status} at the deadline; handed back to the agent`);
      return { ...base, state: 'running', creditsCharged: charged, elapsedMs: seenDoneAt - opts.started };
    }
    if (image.status === 'failed') {
      return {
        ...base,
        state: 'failed',
        error: image.error ?? 'Pixelmuse reported the job as failed without a reason.',
        creditsCharged: charged,
        elapsedMs: seenDoneAt - opts.started,
      };
    }
    const outputs = image.output ?? [];
    if (outputs.length === 0) {
      throw new ProviderError({
        provider: 'pixelmuse',
        code: 'no_output',
        message: `Pixelmuse marked job ${id} succeeded but returned no output.`,
      });
    }
    ctx.progress(`Saving ${outputs.length} output(s) of job ${id}`);
    const saved = [];
    for (const ref of outputs) {
      const bytes = await ctx.media.load(ref, { signal: ctx.signal, provider: 'pixelmuse' });
      const source = ref.startsWith('data:') ? undefined : ref;
      saved.push(await ctx.media.save(bytes, opts.target, { fallbackName: image.prompt || id, source }));
    }
    return {
      ...base,
      state: 'succeeded',
      saved,
      urls: outputs.filter((o) => !o.startsWith('data:')),
      creditsCharged: charged,
      elapsedMs: Date.now() - opts.started,
      seenDoneAt,
    };
  } catch (error) {
    // The job exists and may have been charged: whatever broke, the agent must leave with its id.
    if (ctx.signal.aborted)
      ctx.log.warn(`call cancelled; pixelmuse job ${id} may still finish: resume it with get_generation`);
    throw annotate(error, {
      facts: [`Pixelmuse job ${id} was created and is not lost.`],
      next: `${capitalise(resumeNext('pixelmuse', id))}.`,
    });
  }
}

async function explainInsufficientCredits(ctx: Ctx, model: string, error: ProviderError): Promise<void> {
  const [models, account] = await Promise.allSettled([
    ctx.pixelmuse.listModels(ctx.signal),
    ctx.pixelmuse.getAccount(ctx.signal),
  ]);
  const cost =
    models.status === 'fulfilled' ? models.value.find((m) => m.id === model)?.credit_cost : undefined;
  const balance = account.status === 'fulfilled' ? account.value.credits.total : undefined;
  const costText =
    cost === undefined ? `${model}'s cost is unknown` : `${model} costs ${plural(cost, 'credit')}`;
  const balanceText = balance === undefined ? 'the balance could not be read' : `the balance is ${balance}`;
  error.facts.push(`${costText} and ${balanceText}. Nothing was charged.`);
  error.next =
    'Call pixelmuse_buy_credits for a checkout link a human can pay, or pick a cheaper model from list_models.';
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
