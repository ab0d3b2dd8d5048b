import type { Provider } from '../config.js';

/** What a job cost, in the provider's own unit. */
export type Cost = { credits: number } | { usd: number };

/** A provider's job, as the engine sees it whatever the provider. */
export interface Job {
  id: string;
  model: string;
  /** The prompt, when the provider echoes it: a fallback file name. */
  prompt?: string;
  state: 'running' | 'succeeded' | 'failed' | 'canceled';
  /** The provider's own word for the state, for progress ("processing", "pending"). */
  status: string;
  /** Epoch ms at which the job was created: polling follows the job's age, not the wait loop's. */
  createdAt: number;
  /** Seconds the provider expects the job still needs, when it says. */
  etaSeconds?: number;
  /** URLs or data: URIs of the outputs (complete once the job succeeded). */
  outputs: string[];
  /** URLs where outputs will appear, known before the job ends (ModelsLab's future_links). */
  futureLinks?: string[];
  cost?: Cost;
  /** The provider's reason for a failure, in its own words. */
  error?: string;
  /** Facts worth a line in the result: an NSFW flag, the provider's generation time. */
  notes?: string[];
}

/** Limits every adapter call must respect. */
export interface CallBounds {
  /** Cancels the call (the client cancelled); absent for a create request that must be allowed to finish. */
  signal?: AbortSignal;
  /** Epoch ms by which the HTTP request, its retries and Retry-After waits included, must be over. */
  deadline: number;
}

export interface RateLimit {
  limit?: number;
  remaining?: number;
  /** Epoch ms at which the window resets. */
  resetAt?: number;
}

/**
 * One per provider: how to submit a job, check it, when to check next; the job it returns carries its
 * outputs and cost. The engine (src/generation/engine.ts) owns deadlines, waiting, progress, saving and ids.
 */
export interface GenerationAdapter<R = unknown> {
  provider: Provider;
  /** The provider answers a repeated Idempotency-Key with the first job instead of a new one. */
  replaysIdempotencyKey: boolean;
  /** The create answer is held until the job is done (Pixelmuse `Prefer: wait`) rather than given at once. */
  holdsCreate: boolean;
  /**
   * Create one job. `idempotencyKey` belongs to this exact request: a repeat with the same key replays the
   * first answer instead of charging again. `waitUntil` is how long the provider may hold the answer
   * (Pixelmuse `Prefer: wait`). Throws typed errors; a 402 should carry its own facts and Next.
   */
  submit(
    request: R,
    opts: CallBounds & { idempotencyKey: string; waitUntil: number },
  ): Promise<{ job: Job; replayed: boolean }>;
  /** The job's current state. */
  check(job: Job, opts: CallBounds): Promise<Job>;
  /** A job known only by its id (get_generation). */
  lookup(id: string, opts: CallBounds): Promise<Job>;
  /** Milliseconds until the next check of a running job, from its age (and eta, where the provider gives one). */
  nextCheckMs(job: Job, ageMs: number): number;
  /** The rate-limit headers last seen, so that the engine can slow down before the limit bites. */
  rateLimit(): RateLimit;
}
