import type { Provider } from '../config.js';
import { PROVIDER_LABEL } from '../errors.js';
import type { Preview, SavedImage } from '../media/index.js';
import type { Cost } from './adapter.js';

/** One provider job as the tools report it, whatever the provider. */
export interface JobOutcome {
  provider: Provider;
  id: string;
  model: string;
  /** The prompt as the provider echoed it, when it does: kept with the saved files (atelier://generations/). */
  prompt?: string;
  state: 'succeeded' | 'running' | 'failed' | 'canceled';
  saved: SavedImage[];
  /**
   * The bytes of saved[0] (set whenever something was saved and `preview` is not), for the preview: reading the
   * file back made one more copy of every image wait for the garbage collector, which raised the main malloc
   * heap's high-water.
   */
  firstBytes?: Buffer;
  /** Remote output URLs (not data: URIs), worth giving to the agent as well as the files; future links while running. */
  urls: string[];
  cost?: Cost;
  /** The provider's reason for a failure, in its own words. */
  error?: string;
  /** Facts worth a line of their own (NSFW flag, generation time, outputs not saved). */
  notes: string[];
  /** The provider replayed an earlier answer for the same idempotency key: nothing new was charged. */
  replayed?: boolean;
  elapsedMs: number;
  /** Epoch ms at which we saw the job terminal (for the completion-to-result figure). */
  seenDoneAt?: number;
  /** The preview of `saved[0]`, started while it was saved (GenerateOptions.preview); undefined if undecodable. */
  preview?: Promise<Preview | undefined>;
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

export function describeCost(o: Pick<JobOutcome, 'cost' | 'replayed'>): string {
  if (o.replayed) return 'replayed, nothing new charged';
  if (!o.cost) return 'charge not reported';
  // Cents at least ($0.10, not $0.1), up to 4 decimals for sub-cent ModelsLab prices ($0.0047).
  return 'credits' in o.cost
    ? `${plural(o.cost.credits, 'credit')} charged`
    : `$${o.cost.usd.toFixed(4).replace(/0{1,2}$/, '')} charged`;
}

/** Longest provider text quoted in a result: enough for a reason, too short to smuggle a page of instructions. */
const MAX_QUOTE = 300;

/** Provider text is the provider's words, not ours: capped, on one line, and marked as a quote. */
export function quoteProvider(provider: Provider, text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const capped = flat.length > MAX_QUOTE ? `${flat.slice(0, MAX_QUOTE - 1)}…` : flat;
  return `${PROVIDER_LABEL[provider]} said: "${capped}"`;
}
