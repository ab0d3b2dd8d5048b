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
}

/** The provider answered with an error (or we gave up reaching it). Keeps everything the provider said. */
export class ProviderError extends Error {
  readonly provider: ProviderName;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  /** The parsed error body, for callers that need provider-specific fields. */
  readonly body: unknown;
  facts: string[];
  next: string | undefined;

  constructor(init: {
    provider: ProviderName;
    message: string;
    status?: number;
    code?: string;
    requestId?: string;
    retryAfterSeconds?: number;
    body?: unknown;
    facts?: string[];
    next?: string;
    cause?: unknown;
  }) {
    super(init.message, { cause: init.cause });
    this.name = 'ProviderError';
    this.provider = init.provider;
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.body = init.body;
    this.facts = init.facts ?? [];
    this.next = init.next;
  }
}

/** The provider could not be reached at all (DNS, refused, reset, timeout) after our retries. */
export class NetworkError extends Error {
  readonly provider: ProviderName;
  facts: string[];
  next: string | undefined;
  constructor(provider: ProviderName, message: string, details: ErrorDetails & { cause?: unknown } = {}) {
    super(message, { cause: details.cause });
    this.name = 'NetworkError';
    this.provider = provider;
    this.facts = details.facts ?? [];
    this.next = details.next;
  }
}

/** The caller's arguments cannot work (bad path, unknown option). Nothing was sent or charged. */
export class UserInputError extends Error {
  readonly facts: string[];
  readonly next: string | undefined;
  constructor(message: string, details: ErrorDetails = {}) {
    super(message);
    this.name = 'UserInputError';
    this.facts = details.facts ?? [];
    this.next = details.next;
  }
}

/** Something the user must set up first: a credential, an env var, a store. */
export class ConfigurationError extends Error {
  readonly facts: string[];
  readonly next: string;
  constructor(message: string, details: ErrorDetails & { next: string }) {
    super(message);
    this.name = 'ConfigurationError';
    this.facts = details.facts ?? [];
    this.next = details.next;
  }
}

/** Attach facts and a next step to an error thrown by a lower layer, without losing its identity. */
export function annotate(err: unknown, details: ErrorDetails): unknown {
  if (err instanceof ProviderError || err instanceof NetworkError) {
    if (details.facts) err.facts.push(...details.facts);
    if (details.next) err.next = details.next;
  }
  return err;
}
