import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createDurably, readIfExists, removeDurably, replaceDurably } from './durable.js';

/**
 * Idempotency keys that outlive the process. A request whose outcome is unknown (a timeout, a reset, a
 * crash between sending and reading the answer) must be sent again with the same key, so that the
 * provider replays it instead of charging or generating twice. The key is therefore chosen from the
 * operation and its canonical arguments and written to disk before the request leaves; it is reused by
 * any identical request (a retry, a client's retry, the same call after a restart) until the outcome is
 * known and the key is settled. After that the same arguments are a new operation with a new key.
 */

export interface IdempotencyKey {
  /** The value for the Idempotency-Key header. */
  readonly key: string;
  /** An earlier identical request never learnt its outcome: the provider will replay it, not repeat it. */
  readonly reused: boolean;
  readonly createdAt: Date;
  /** The outcome is known (success or a definite refusal): forget the key. Idempotent. */
  settle(): Promise<void>;
}

export interface PendingKey {
  key: string;
  operation: string;
  createdAt: Date;
}

export interface IdempotencyStore {
  /** The key for this request: the unsettled one of an identical earlier request, else a new one. Durable on return. */
  acquire(operation: string, args: unknown): Promise<IdempotencyKey>;
  /** The unsettled key of an identical earlier request, if any (for telling the human a charge is pending). */
  pending(operation: string, args: unknown): Promise<PendingKey | undefined>;
}

export interface IdempotencyOptions {
  /**
   * How long an unsettled key is reused. Providers keep replays for about a day (Stripe: 24 h); after that
   * resending the old key would not protect anything, and the arguments are treated as a new request.
   */
  windowMs?: number;
  now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface StoredKey {
  key: string;
  operation: string;
  args_sha256: string;
  created_at: string;
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
function newKey(operation: string): string {
  const slug =
    operation
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'op';
  return `atelier-${slug}-${randomBytes(12).toString('hex')}`;
}

/** Keys live in `<dir>/<digest>.json`, one file per operation + arguments, so identical requests meet. */
export function openIdempotencyStore(dir: string, options: IdempotencyOptions = {}): IdempotencyStore {
  const windowMs = options.windowMs ?? DAY_MS;
  const now = options.now ?? Date.now;
  // Requests for the same slot in this process take turns; other processes are kept apart by link()'s atomicity.
  const turns = new Map<string, Promise<unknown>>();
  const inTurn = <T>(slot: string, work: () => Promise<T>): Promise<T> => {
    const previous = turns.get(slot) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    turns.set(slot, tail);
    void tail.then(() => {
      if (turns.get(slot) === tail) turns.delete(slot);
    });
    return next;
  };

  const read = async (path: string): Promise<StoredKey | undefined> => {
    const text = await readIfExists(path);
    if (text === undefined) return undefined;
    try {
      const stored = JSON.parse(text) as StoredKey;
      return typeof stored.key === 'string' ? stored : undefined;
    } catch {
      // A torn file cannot come from createDurably; treat anything unreadable as absent rather than block money.
      return undefined;
    }
  };
  const live = (stored: StoredKey | undefined): stored is StoredKey =>
    stored !== undefined && now() - Date.parse(stored.created_at) < windowMs;

  const handle = (path: string, stored: StoredKey, reused: boolean): IdempotencyKey => ({
    key: stored.key,
    reused,
    createdAt: new Date(stored.created_at),
    settle: () =>
      inTurn(path, async () => {
        // Only this key: an identical request started after settling has a key of its own.
        if ((await read(path))?.key === stored.key) await removeDurably(path);
      }),
  });

  return {
    acquire(operation, args) {
      const digest = argsDigest(operation, args);
      const path = join(dir, `${digest}.json`);
      return inTurn(path, async () => {
        for (let attempt = 0; ; attempt++) {
          const existing = await read(path);
          if (live(existing)) return handle(path, existing, true);
          const fresh: StoredKey = {
            key: newKey(operation),
            operation,
            args_sha256: digest,
            created_at: new Date(now()).toISOString(),
          };
          const text = JSON.stringify(fresh);
          if (existing === undefined && attempt === 0) {
            if (await createDurably(path, text)) return handle(path, fresh, false);
            continue; // another process created it first: use theirs
          }
          // Past the window (the old key protects nothing any more), or unreadable twice over.
          await replaceDurably(path, text);
          return handle(path, fresh, false);
        }
      });
    },
    async pending(operation, args) {
      const stored = await read(join(dir, `${argsDigest(operation, args)}.json`));
      return live(stored)
        ? { key: stored.key, operation: stored.operation, createdAt: new Date(stored.created_at) }
        : undefined;
    },
  };
}
