export type ProviderName = 'pixelmuse' | 'modelslab' | 'stripe';

export const PROVIDER_LABEL: Record<ProviderName, string> = {
  pixelmuse: 'Pixelmuse',
  modelslab: 'ModelsLab',
  stripe: 'Stripe',
};

/** Extra context every error may carry; the result adapter prints it after the first line. */
export interface ErrorDetails {
  /** Facts worth knowing, one per line (a cost, a balance, a job id). */
  facts?: string[];
  /** The next step: a tool to call, an env var to set, or when to retry. */
  next?: string;
  cause?: unknown;
}

/** Every error of ours carries facts and a next step that outer layers may add to. */
export abstract class AtelierError extends Error {
  facts: string[];
  next: string | undefined;
  /**
   * An earlier attempt of the same request (same Idempotency-Key) got no usable answer before this failure: a
   * 429 or 408 at the end then says nothing about what that attempt did.
   */
  earlierAttemptUnknown = false;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message, { cause: details.cause });
    this.name = new.target.name;
    this.facts = details.facts ?? [];
    this.next = details.next;
  }
}

/**
 * A provider's own next steps for the failures every provider has; the provider hands them to the errors
 * it raises, so the shared formatter names no provider's tools or commands.
 */
export interface ProviderHints {
  /** 401/403: the credential was rejected. */
  unauthorized?: string;
  /** 402: not enough money or credits. */
  paymentRequired?: string;
  /** 404: where valid ids can be found. */
  notFound?: string;
}

/** The provider answered with an error. Keeps everything the provider said. */
export class ProviderError extends AtelierError {
  readonly provider: ProviderName;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  /** The parsed error body, for callers that need provider-specific fields. */
  readonly body: unknown;
  /** The response headers: a 402's WWW-Authenticate carries the payment challenge. */
  readonly headers: Record<string, string>;
  /** The provider's structured specifics (per-field validation messages, a decline code). */
  readonly details: Record<string, unknown> | undefined;
  readonly hints: ProviderHints;

  constructor(
    init: ErrorDetails & {
      provider: ProviderName;
      message: string;
      status?: number;
      code?: string;
      requestId?: string;
      retryAfterSeconds?: number;
      body?: unknown;
      headers?: Record<string, string>;
      details?: Record<string, unknown>;
      hints?: ProviderHints;
    },
  ) {
    super(init.message, init);
    this.provider = init.provider;
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.body = init.body;
    this.headers = init.headers ?? {};
    this.details = init.details;
    this.hints = init.hints ?? {};
  }
}

/** The provider could not be reached at all (DNS, refused, reset, timeout) after our retries. */
export class NetworkError extends AtelierError {
  readonly provider: ProviderName;
  constructor(provider: ProviderName, message: string, details: ErrorDetails = {}) {
    super(message, details);
    this.provider = provider;
  }
}

/**
 * The call's deadline (max_wait_seconds) ran out before the provider answered, or left no time for a retry.
 * `mayHaveReached` says whether a request may have reached the provider (its outcome is then unknown).
 */
export class DeadlineError extends NetworkError {
  readonly mayHaveReached: boolean;
  constructor(provider: ProviderName, message: string, details: ErrorDetails & { mayHaveReached: boolean }) {
    super(provider, message, details);
    this.mayHaveReached = details.mayHaveReached;
  }
}

/** The caller's arguments cannot work (bad path, unknown option). Nothing was sent or charged. */
export class UserInputError extends AtelierError {}

/** Our own money rules said no (a cap, a confirmation token that does not fit). Nothing was sent or charged. */
export class SpendRefusedError extends AtelierError {}

/**
 * A paid or once-only request may have reached the provider and nobody knows what it did: a lost answer, a
 * 5xx, an answer that does not confirm the charge. src/spend/ keeps its key and holds its amount until a replay
 * or a status check settles it; nothing new is sent for it meanwhile.
 */
export class OutcomeUnknownError extends AtelierError {}

/**
 * A file that money depends on (the ledger, a held charge, a quote) cannot be read. Charges fail closed until a
 * human repairs it: the message names the file (and line).
 */
export class SpendStateError extends AtelierError {
  readonly path: string;
  constructor(path: string, message: string, details: ErrorDetails = {}) {
    super(message, details);
    this.path = path;
  }
}

/** Something the user must set up first: a credential, an env var, a store. */
export class ConfigurationError extends AtelierError {
  constructor(message: string, details: ErrorDetails & { next: string }) {
    super(message, details);
  }
}

/**
 * The human did not give a secret through its one-time page (src/entry/): they declined to open it, cancelled it,
 * or let it expire. Nothing was sent or stored.
 */
export class NothingStoredError extends AtelierError {}

/** A failure of ours that no class above describes; still carries the facts an outer layer adds. */
export class UnexpectedError extends AtelierError {}

/**
 * Attach facts and a next step to whatever a lower layer threw, so that (say) a job id survives a
 * failing disk. Cancellations pass through untouched: nobody is listening for the answer.
 */
export function annotate(error: unknown, details: ErrorDetails): unknown {
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) return error;
  const target =
    error instanceof AtelierError
      ? error
      : new UnexpectedError(error instanceof Error ? error.message : String(error), { cause: error });
  if (details.facts) target.facts.push(...details.facts);
  if (details.next) target.next = details.next;
  return target;
}
