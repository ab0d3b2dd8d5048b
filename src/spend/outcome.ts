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
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);
// A 2xx whose body could not be read says nothing about what was done.
const BROKEN_ANSWER = new Set(['truncated_response', 'response_too_large', 'unexpected_response']);

export function isUnknownOutcome(error: unknown): boolean {
  if (error instanceof Error && (error as unknown as Record<symbol, boolean>)[NOTHING_SENT]) return false;
  if (error instanceof OutcomeUnknownError) return true;
  if (error instanceof DeadlineError) return error.mayHaveReached;
  if (error instanceof NetworkError)
    return !NOT_SENT.has((error.cause as { code?: string } | undefined)?.code ?? '');
  if (error instanceof ProviderError) {
    if (error.status === undefined) return true;
    // ModelsLab's 200 with status "error" is a refusal; a 3xx answers nothing.
    if (error.status < 300) return BROKEN_ANSWER.has(error.code ?? '');
    if (error.status < 400) return true;
    // 408 and 429 mean "not processed", unless an earlier attempt with the same key got no answer; a 5xx says
    // nothing of what was done.
    if (error.status === 408 || error.status === 429) return error.earlierAttemptUnknown;
    return error.status >= 500;
  }
  // Our own refusals happen before anything is sent; anything else (a bug, a cancel) may come after.
  return !(
    error instanceof UserInputError ||
    error instanceof ConfigurationError ||
    error instanceof SpendRefusedError ||
    error instanceof SpendStateError
  );
}
