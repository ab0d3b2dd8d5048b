import { ProviderError } from '../../errors.js';
import { resetEpochMs } from '../../http/retry.js';
import type { GenerationAdapter, Job } from '../../generation/adapter.js';
import { plural } from '../../generation/outcome.js';
import type { PixelmuseClient } from './client.js';
import type { CreateImageRequest, ImageObject } from './types.js';

/** Prefer: wait longer than this risks proxies and clients cutting the request; polling takes over. */
const MAX_PREFER_WAIT_S = 50;

/**
 * By the job's age: fast at first (most jobs finish in seconds, and every interval is latency added to the
 * result), then slower so that a long job, or one resumed late, does not burn the rate limit.
 */
export function pollIntervalMs(ageMs: number): number {
  if (ageMs < 5_000) return 500;
  if (ageMs < 30_000) return 1_000;
  if (ageMs < 120_000) return 2_000;
  return 5_000;
}

export function pixelmuseAdapter(client: PixelmuseClient): GenerationAdapter<CreateImageRequest> {
  return {
    provider: 'pixelmuse',
    replaysIdempotencyKey: true,
    holdsCreate: true,
    async submit(body, { idempotencyKey, deadline, waitUntil, signal }) {
      const waitSeconds = Math.min(MAX_PREFER_WAIT_S, Math.floor((waitUntil - Date.now()) / 1000));
      try {
        const created = await client.createImage(body, { idempotencyKey, waitSeconds, deadline, signal });
        return { job: toJob(created.image), replayed: created.replayed };
      } catch (error) {
        if (error instanceof ProviderError && error.status === 402)
          await explainInsufficientCredits(client, body.model, error, deadline);
        throw error;
      }
    },
    async check(job, bounds) {
      return toJob(await client.getImage(job.id, bounds), job.createdAt);
    },
    async lookup(id, bounds) {
      return toJob(await client.getImage(id, bounds));
    },
    nextCheckMs: (_job, ageMs) => pollIntervalMs(ageMs),
    rateLimit() {
      const { limit, remaining, reset } = client.rateLimit;
      return { limit, remaining, resetAt: reset === undefined ? undefined : resetEpochMs(reset) };
    },
  };
}

export function toJob(image: ImageObject, seenAt = Date.now()): Job {
  const created = image.created_at ? Date.parse(image.created_at) : NaN;
  return {
    id: image.id,
    model: image.model,
    prompt: image.prompt,
    state: stateOf(image.status),
    status: image.status,
    // The server's clock may be off; a creation time in the future would only make the first polls fast.
    createdAt: Number.isNaN(created) ? seenAt : Math.min(created, Date.now()),
    outputs: outputsOf(image.output),
    ...(typeof image.credits_charged === 'number' ? { cost: { credits: image.credits_charged } } : {}),
    ...(image.error ? { error: image.error } : {}),
  };
}

function stateOf(status: string): Job['state'] {
  if (status === 'succeeded' || status === 'failed') return status;
  if (status === 'canceled' || status === 'cancelled') return 'canceled';
  return 'running';
}

function outputsOf(output: ImageObject['output']): string[] {
  if (typeof output === 'string') return output === '' ? [] : [output];
  return Array.isArray(output) ? output.filter((o): o is string => typeof o === 'string') : [];
}

async function explainInsufficientCredits(
  client: PixelmuseClient,
  model: string,
  error: ProviderError,
  deadline: number,
): Promise<void> {
  const [models, account] = await Promise.allSettled([
    client.listModels(AbortSignal.timeout(Math.max(1, deadline - Date.now()))),
    client.getAccount(AbortSignal.timeout(Math.max(1, deadline - Date.now()))),
  ]);
  const cost =
    models.status === 'fulfilled' ? models.value.find((m) => m.id === model)?.credit_cost : undefined;
  const balance = account.status === 'fulfilled' ? account.value.credits?.total : undefined;
  const costText =
    cost === undefined ? `${model}'s cost is unknown` : `${model} costs ${plural(cost, 'credit')}`;
  const balanceText = balance === undefined ? 'the balance could not be read' : `the balance is ${balance}`;
  error.facts.push(`${costText} and ${balanceText}. Nothing was charged.`);
  error.next =
    'Call pixelmuse_buy_credits for a checkout link a human can pay, or pick a cheaper model from list_models.';
}
