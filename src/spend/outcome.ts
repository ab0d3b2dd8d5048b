import {
  ConfigurationError,
  DeadlineError,
  NetworkError,
  OutcomeUnknownError,
  ProviderError,
  SpendRefusedError,
  SpendStateError,
  UserInputError,
} from '../errors.js';

/**
 * Every request that must not happen twice ends in exactly one of: known (it was done, or it was refused and
 * nothing happened) or unknown (it may have reached the provider and nobody knows what it did). An unknown
 * outcome keeps its Idempotency-Key and, for a charge, its amount held; only a replay or a status check
 * settles it.
 */

const NOTHING_SENT = Symbol('atelier.nothingSent');

/** Mark an error thrown before the request that costs money left (a failed SPT mint, a price check). */
export function nothingSent<E>(error: E): E {
  if (error instanceof Error) (error as unknown as Record<symbol, boolean>)[NOTHING_SENT] = true;
  return error;
}

// The connection was never made: the request did not leave.
const NOT_SENT: ReadonlySet<unknown> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
// A 2xx whose body could not be read says nothing about what was done.
const BROKEN_ANSWER: ReadonlySet<unknown> = new Set([
  'truncated_response',
  'response_too_large',
  'unexpected_response',
]);

/**
 * - `unknown`: the request may have reached the provider and done its work;
 * - `refused`: the provider answered no (a 4xx, a 200 saying "error"): nothing was done, and the same key would
 *   only get the same no;
 * - `not sent`: it never left, or the provider did not process it (408, 429): nothing was done, and nothing
 *   about it is settled either.
 */
export type FailureClass = 'unknown' | 'refused' | 'not sent';

export function failureClass(error: unknown): FailureClass {
  if (error instanceof Error && (error as unknown as Record<symbol, boolean>)[NOTHING_SENT])
    return 'not sent';
  if (error instanceof OutcomeUnknownError) return 'unknown';
  if (error instanceof DeadlineError) return error.mayHaveReached ? 'unknown' : 'not sent';
  if (error instanceof NetworkError)
    return NOT_SENT.has((error.cause as { code?: unknown } | undefined)?.code) ? 'not sent' : 'unknown';
  if (error instanceof ProviderError) {
    if (error.status === undefined) return 'unknown';
    // ModelsLab's 200 with status "error" is a refusal; a 2xx that could not be read, or a 3xx, answers nothing.
    if (error.status < 300) return BROKEN_ANSWER.has(error.code) ? 'unknown' : 'refused';
    if (error.status < 400 || error.status >= 500) return 'unknown';
    // Not processed, unless an earlier attempt with the same key got no answer.
    if (error.status === 408 || error.status === 429)
      return error.earlierAttemptUnknown ? 'unknown' : 'not sent';
    return 'refused';
  }
  // Our own refusals happen before anything is sent; anything else (a bug, a cancel) may come after.
  return error instanceof UserInputError ||
    error instanceof ConfigurationError ||
    error instanceof SpendRefusedError ||
    error instanceof SpendStateError
    ? 'not sent'
    : 'unknown';
}

export function isUnknownOutcome(error: unknown): boolean {
  return failureClass(error) === 'unknown';
}
