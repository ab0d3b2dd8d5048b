import type { Provider } from '../config.js';
import { PROVIDER_LABEL } from '../errors.js';
import type { SavedImage } from '../media/index.js';

/** One provider job as the tools report it, whatever the provider. */
export interface JobOutcome {
  provider: Provider;
  id: string;
  model: string;
  state: 'succeeded' | 'running' | 'failed';
  saved: SavedImage[];
  /** Remote output URLs (not data: URIs), worth giving to the agent as well as the files. */
  urls: string[];
  creditsCharged?: number;
  error?: string;
  /** The provider replayed an earlier answer for the same idempotency key: nothing new was charged. */
  replayed?: boolean;
  elapsedMs: number;
  /** Epoch ms at which we saw the job terminal (for the completion-to-result figure). */
  seenDoneAt?: number;
}

export function resumeNext(provider: Provider, id: string): string {
  return `call get_generation with provider "${provider}" and id "${id}" to wait for it and save the image`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function jobLabel(o: Pick<JobOutcome, 'provider' | 'id'>): string {
  return `${PROVIDER_LABEL[o.provider]} job ${o.id}`;
}
