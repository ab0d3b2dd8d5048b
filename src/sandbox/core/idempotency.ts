import type { ApiError } from './exchange.js';

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface ReplayEntry {
  canonical: string;
  at: number;
  /** May be replaced while the first request is still settling (a held `Prefer: wait`). */
  response: Promise<StoredResponse>;
}

const TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Idempotency-Key replay as the providers document it: the same key with the same body within a day
 * answers the stored response; the same key with another body is a conflict.
 */
export class ReplayStore {
  private readonly entries = new Map<string, ReplayEntry>();
  constructor(
    private readonly now: () => number,
    private readonly conflict: () => ApiError,
  ) {}

  /** The stored answer for this slot (caller + key), or undefined when the request is new. */
  async replay(slot: string, canonical: string): Promise<StoredResponse | undefined> {
    const entry = this.entries.get(slot);
    if (!entry || this.now() - entry.at >= TTL_MS) return undefined;
    if (entry.canonical !== canonical) throw this.conflict();
    return entry.response;
  }

  remember(slot: string, canonical: string, response: Promise<StoredResponse>): ReplayEntry {
    const entry = { canonical, at: this.now(), response };
    this.entries.set(slot, entry);
    return entry;
  }
}

/** JSON with object keys sorted, so {"a":1,"b":2} and {"b":2,"a":1} are the same request. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
