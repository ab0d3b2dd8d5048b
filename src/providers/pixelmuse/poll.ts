import { sleep } from '../../http/retry.js';
import type { PixelmuseClient } from './client.js';
import { isTerminal, type ImageObject } from './types.js';

export interface PollOptions {
  /** Epoch ms after which we stop waiting and hand the id back. */
  deadline: number;
  signal: AbortSignal;
  onUpdate?: (image: ImageObject) => void;
  now?: () => number;
}

export type PollOutcome = { finished: true; image: ImageObject } | { finished: false; image: ImageObject };

/**
 * Fast at first (most jobs finish in seconds, and every poll interval is latency added to the result),
 * then slower so that a long job does not burn the rate limit.
 */
export function pollIntervalMs(elapsedMs: number): number {
  if (elapsedMs < 5_000) return 500;
  if (elapsedMs < 30_000) return 1_000;
  if (elapsedMs < 120_000) return 2_000;
  return 5_000;
}

export async function pollImage(
  client: PixelmuseClient,
  first: ImageObject,
  { deadline, signal, onUpdate, now = Date.now }: PollOptions,
): Promise<PollOutcome> {
  const started = now();
  let image = first;
  while (!isTerminal(image.status)) {
    const left = deadline - now();
    if (left <= 0) return { finished: false, image };
    await sleep(Math.min(pollIntervalMs(now() - started), left), signal);
    image = await client.getImage(image.id, signal);
    onUpdate?.(image);
  }
  return { finished: true, image };
}
