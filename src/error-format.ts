import {
  ConfigurationError,
  NetworkError,
  NothingStoredError,
  OutcomeUnknownError,
  PROVIDER_LABEL,
  ProviderError,
  type ProviderName,
  SpendRefusedError,
  SpendStateError,
  UnexpectedError,
  UserInputError,
} from './errors.js';
import { redact } from './redact.js';
import type { Logger } from './log.js';

/**
 * The one place a thrown error becomes the text of an isError result: who and what first
 * (provider, code, HTTP status, request id), then the facts, then `Next:`. Always redacted.
 */
export function formatError(error: unknown, log?: Logger): string {
  const lines: string[] = [];
  let next: string | undefined;
  if (error instanceof ProviderError) {
    const who = PROVIDER_LABEL[error.provider];
    const id = [
      error.code,
      error.status !== undefined ? `HTTP ${error.status}` : undefined,
      error.requestId ? `request ${error.requestId}` : undefined,
    ].filter(Boolean);
    const verb =
      error.status !== undefined && error.status >= 500
        ? 'failed'
        : error.status !== undefined && error.status < 400
          ? 'sent an answer that could not be used'
          : 'refused the request';
    lines.push(
      `${who} ${verb}${id.length ? `: ${id[0]}${id.length > 1 ? ` (${id.slice(1).join(', ')})` : ''}` : ''}.`,
    );
    lines.push(error.message, ...error.facts);
    next = error.next ?? defaultNext(error);
  } else if (error instanceof NetworkError) {
    lines.push(error.message, ...error.facts);
    next =
      error.next ??
      `Retry in a minute; if it keeps failing, check the network and ${BASE_URL_ENV[error.provider]} (unset it for the real service).`;
  } else if (error instanceof UserInputError) {
    lines.push(`Invalid input: ${error.message}`, ...error.facts);
    next = error.next;
  } else if (error instanceof SpendRefusedError) {
    lines.push(`Not charged: ${error.message}`, ...error.facts);
    next = error.next;
  } else if (error instanceof OutcomeUnknownError) {
    lines.push(`OUTCOME UNKNOWN: ${error.message}`, ...error.facts);
    next = error.next;
  } else if (error instanceof SpendStateError) {
    lines.push(`Not charged: ${error.message}`, ...error.facts);
    next = error.next;
  } else if (error instanceof NothingStoredError) {
    lines.push(`Nothing stored: ${error.message}`, ...error.facts);
    next = error.next;
  } else if (error instanceof ConfigurationError) {
    lines.push(`Not configured: ${error.message}`, ...error.facts);
    next = error.next;
  } else if (isAbort(error)) {
    lines.push('The call was cancelled before it finished.');
  } else {
    const message = error instanceof Error ? error.message : String(error);
    const cause = error instanceof UnexpectedError ? error.cause : error;
    log?.error(`unexpected error: ${cause instanceof Error ? (cause.stack ?? message) : message}`);
    lines.push(`Unexpected error in atelier-mcp: ${message}`);
    if (error instanceof UnexpectedError) lines.push(...error.facts);
    next =
      (error instanceof UnexpectedError ? error.next : undefined) ??
      'Retry once; if it happens again, report it with the server log (stderr).';
  }
  if (next) lines.push(`Next: ${next}`);
  return redact(lines.filter((l) => l !== '').join('\n'));
}

const BASE_URL_ENV: Record<ProviderName, string> = {
  pixelmuse: 'PIXELMUSE_BASE_URL',
  modelslab: 'MODELSLAB_BASE_URL',
  stripe: 'STRIPE_API_BASE',
};

function defaultNext(e: ProviderError): string | undefined {
  const retry =
    e.retryAfterSeconds !== undefined ? `Retry after ${e.retryAfterSeconds} s` : 'Retry in a minute';
  if (e.status === 401 || e.status === 403)
    return e.hints.unauthorized ?? 'Check the credential, then retry.';
  if (e.status === 402 && e.hints.paymentRequired) return e.hints.paymentRequired;
  if (e.code === 'content_policy_violation') {
    return 'The prompt was blocked by moderation and nothing was charged; rephrase it and call again.';
  }
  if (e.code === 'response_too_large' || e.code === 'output_too_large')
    return 'Retry later; if it keeps happening, report it: the provider sent far more than an image needs.';
  if (e.code === 'truncated_response') return `${retry}; the connection broke while the answer was read.`;
  if (e.code === 'idempotency_conflict') return 'Call again: the next call uses a fresh idempotency key.';
  if (e.status === 404) return e.hints.notFound ?? 'Check the id or name in the call, then retry.';
  if (e.status === 429) return `${retry} (the rate limit was still in force after automatic retries).`;
  if (e.status !== undefined && e.status >= 500) return `${retry}; the provider is having trouble.`;
  if (e.status === 400)
    return 'Fix the argument named above; list_models shows valid models and aspect ratios.';
  return undefined;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}
