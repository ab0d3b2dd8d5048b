import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SpendStateError } from '../errors.js';
import { readIfExists, readRecords, removeDurably, replaceDurably } from './durable.js';

/**
 * Requests that must not happen twice, as files that outlive the process: a charge, a card change, a job's
 * create request. A request whose outcome is unknown (a timeout, a reset, a crash between sending and reading
 * the answer) must go out again with the same Idempotency-Key, so that the provider replays it instead of
 * charging or generating twice. The key is chosen from the operation and its canonical arguments and written
 * down before the request leaves; it stays until the outcome is known. A charge's file also holds the amount
 * approved (held against the day cap while the file exists) and whatever must be resent exactly (MPP's
 * credential). src/spend/index.ts reads and writes these files only under the spend lock.
 */

export interface Attempt {
  /** The value for the Idempotency-Key header. */
  key: string;
  operation: string;
  args_sha256: string;
  created_at: string;
  /** The process sending it right now; absent once no one is (its answer was lost, or it never left). */
  owner?: string;
  /** A charge: the USD micro-dollars approved, held against the day cap while this file exists. */
  amount_micros?: number;
  provider?: string;
  description?: string;
  /** Why its outcome is unknown, once an answer was lost. */
  unknown?: string;
  /** What a payment method must resend exactly (MPP: the credential), written before the request that uses it. */
  memo?: Record<string, unknown>;
}

/** JSON with keys sorted at every depth and undefined dropped: equal arguments give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function argsDigest(operation: string, args: unknown): string {
  return createHash('sha256')
    .update(`${operation}\n${canonicalJson(args)}`)
    .digest('hex');
}

/** A readable, header-safe key: the operation, then randomness (arguments stay out of headers and logs). */
export function newKey(operation: string): string {
  const slug =
    operation
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'op';
  return `atelier-${slug}-${randomBytes(12).toString('hex')}`;
}

export interface AttemptStore {
  /** The attempt for these arguments; undefined when there is none. Throws when its file cannot be read. */
  read(digest: string): Promise<Attempt | undefined>;
  list(): Promise<Attempt[]>;
  write(attempt: Attempt): Promise<void>;
  /** Forget the attempt, only if it is still the one with this key. */
  remove(digest: string, key: string): Promise<void>;
}

/** Attempts live in `<dir>/<digest>.json`, one file per operation + arguments, so identical requests meet. */
export function openAttemptStore(dir: string): AttemptStore {
  const pathOf = (digest: string) => join(dir, `${digest}.json`);
  const read = async (path: string): Promise<Attempt | undefined> => {
    const text = await readIfExists(path);
    if (text === undefined) return undefined;
    let stored: Partial<Attempt> | undefined;
    try {
      stored = JSON.parse(text) as Partial<Attempt>;
    } catch {
      stored = undefined;
    }
    if (
      typeof stored?.key !== 'string' ||
      typeof stored.created_at !== 'string' ||
      Number.isNaN(Date.parse(stored.created_at)) ||
      (stored.amount_micros !== undefined && !Number.isSafeInteger(stored.amount_micros))
    ) {
      // The earlier request's key and outcome are lost with it: sending again could pay twice.
      throw new SpendStateError(
        path,
        `The record of an earlier request (${path}) cannot be read, so its outcome is unknown; nothing was sent.`,
        {
          next:
            'Check the provider for that charge (modelslab_wallet transactions, modelslab_payment_status, or the ' +
            'Stripe dashboard for MPP). Once you know it did not go through, or have recorded it, delete that ' +
            'file and call again.',
        },
      );
    }
    return stored as Attempt;
  };
  return {
    read: (digest) => read(pathOf(digest)),
    list: () => readRecords(dir, read),
    write: (attempt) => replaceDurably(pathOf(attempt.args_sha256), JSON.stringify(attempt)),
    async remove(digest, key) {
      const path = pathOf(digest);
      if ((await read(path).catch(() => undefined))?.key === key) await removeDurably(path);
    },
  };
}
