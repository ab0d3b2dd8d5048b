import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { appendLineDurably, readIfExists } from './durable.js';

/** One charge, as it happened. Lines are only ever appended: the file is the record of what was paid. */
export interface LedgerEntry {
  /** ISO time the charge was known to have happened. */
  time: string;
  provider: string;
  operation: string;
  amount: number;
  currency: string;
  /** What the provider calls it: a PaymentIntent `pi_…`, a subscription id, a checkout session `cs_…`. */
  reference: string;
  /** The provider answered from its idempotency cache: the charge is the one an earlier request made. */
  replay: boolean;
  /** What was bought, in words. */
  description?: string;
  /** sha256 of the Idempotency-Key (never the key): the same request is never recorded twice. */
  key_sha256?: string;
}

export interface Ledger {
  readonly path: string;
  entries(): Promise<LedgerEntry[]>;
  /**
   * Append unless the same charge is already there: same idempotency key, or (when the reference names one
   * payment, like a checkout session) the same reference. Returns the line that stands and whether it is new.
   */
  record(
    entry: Omit<LedgerEntry, 'key_sha256'>,
    dedupe: { idempotencyKey?: string; uniqueReference?: boolean },
  ): Promise<{ entry: LedgerEntry; added: boolean }>;
}

export function keyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

export function openLedger(dir: string): Ledger {
  const path = join(dir, 'ledger.jsonl');
  // Appends from this process take turns, so the duplicate check and the append are one step.
  let queue: Promise<unknown> = Promise.resolve();
  const entries = async (): Promise<LedgerEntry[]> => {
    const text = (await readIfExists(path)) ?? '';
    const out: LedgerEntry[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as LedgerEntry);
      } catch {
        // A line torn by a crash mid-append is skipped, never fatal: the rest of the record still counts.
      }
    }
    return out;
  };
  return {
    path,
    entries,
    record(entry, dedupe) {
      const work = async () => {
        const key_sha256 = dedupe.idempotencyKey ? keyDigest(dedupe.idempotencyKey) : undefined;
        const existing = (await entries()).find(
          (e) =>
            (key_sha256 !== undefined && e.key_sha256 === key_sha256) ||
            (dedupe.uniqueReference === true &&
              e.provider === entry.provider &&
              e.reference === entry.reference),
        );
        if (existing) return { entry: existing, added: false };
        const line: LedgerEntry = { ...entry, ...(key_sha256 ? { key_sha256 } : {}) };
        await appendLineDurably(path, JSON.stringify(line));
        return { entry: line, added: true };
      };
      const next = queue.then(work, work);
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

/** The UTC calendar day of an ISO time: caps and reports count days in UTC so that they never depend on the host. */
export function utcDay(time: string | Date): string {
  return (typeof time === 'string' ? new Date(time) : time).toISOString().slice(0, 10);
}
