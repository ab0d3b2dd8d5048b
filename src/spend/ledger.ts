import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { SpendStateError } from '../errors.js';
import { appendLineDurably, readIfExists } from './durable.js';

/** One charge, as it happened. Lines are only ever appended: the file is the record of what was paid. */
export interface LedgerEntry {
  /** ISO time the charge was known to have happened. */
  time: string;
  provider: string;
  operation: string;
  /** What the human approved (the quote, the SPT's limit, the link's amount): what the caps count. */
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
  /** The amount the provider's answer stated, where it differs: recorded beside the approved one, never instead. */
  reported_amount?: unknown;
  /** `unknown`: the answer never came and no replay settled it within a day; counted as spent. */
  outcome?: 'unknown';
  /** `credit`: value the provider added without a charge (a coupon); counted in no cap and no charge total. */
  kind?: 'credit';
}

export interface LedgerRead {
  entries: LedgerEntry[];
  /** Lines that cannot be read, as "path:line: why". Any of them blocks new charges. */
  problems: string[];
}

export interface Ledger {
  readonly path: string;
  /** Every line, or a SpendStateError naming the first line that cannot be read: caps fail closed. */
  entries(): Promise<LedgerEntry[]>;
  /** Every readable line and the problems with the others, for a report that shows both. */
  read(): Promise<LedgerRead>;
  /**
   * Append unless the same charge is already there: same idempotency key, or (when the reference names one
   * payment, like a checkout session) the same reference. Returns the line that stands and whether it is new.
   * Callers hold the spend lock, so the check and the append are one step across processes.
   */
  record(
    entry: Omit<LedgerEntry, 'key_sha256'>,
    dedupe: { idempotencyKey?: string; uniqueReference?: boolean },
  ): Promise<{ entry: LedgerEntry; added: boolean }>;
}

export function keyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 32);
}

function problemOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const e = value as Record<string, unknown>;
  if (!Number.isFinite(e.amount)) return `amount ${JSON.stringify(e.amount)}`;
  if (typeof e.time !== 'string' || Number.isNaN(Date.parse(e.time))) return `time ${JSON.stringify(e.time)}`;
  if (typeof e.currency !== 'string' || e.currency === '') return `currency ${JSON.stringify(e.currency)}`;
  if (typeof e.provider !== 'string' || typeof e.reference !== 'string') return 'no provider or reference';
  if (e.kind !== undefined && e.kind !== 'credit') return `kind ${JSON.stringify(e.kind)}`;
  return undefined;
}

export function openLedger(dir: string): Ledger {
  const path = join(dir, 'ledger.jsonl');
  // Appends from this process take turns, so the duplicate check and the append are one step (other
  // processes are kept out by the spend lock their callers hold).
  let queue: Promise<unknown> = Promise.resolve();
  const read = async (): Promise<LedgerRead> => {
    const text = (await readIfExists(path)) ?? '';
    const out: LedgerRead = { entries: [], problems: [] };
    text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        out.problems.push(`${path}:${index + 1}: not JSON (a line torn by a crash, or edited by hand)`);
        return;
      }
      const problem = problemOf(parsed);
      if (problem) out.problems.push(`${path}:${index + 1}: ${problem}`);
      else out.entries.push(parsed as LedgerEntry);
    });
    return out;
  };
  const entries = async (): Promise<LedgerEntry[]> => {
    const { entries, problems } = await read();
    if (problems.length > 0) {
      throw new SpendStateError(
        path,
        `The spend ledger has a line that cannot be read (${problems[0]}), so today's spend is unknown and no charge is made.`,
        {
          facts: problems.slice(1, 4),
          next:
            'Ask the human to repair or remove that line (spend_report shows the readable ones; each charge ' +
            'can be checked with the provider), then call again.',
        },
      );
    }
    return entries;
  };
  return {
    path,
    entries,
    read,
    record(entry, dedupe) {
      const work = () => append(entry, dedupe);
      const next = queue.then(work, work);
      queue = next.catch(() => undefined);
      return next;
    },
  };

  async function append(
    entry: Omit<LedgerEntry, 'key_sha256'>,
    dedupe: { idempotencyKey?: string; uniqueReference?: boolean },
  ): Promise<{ entry: LedgerEntry; added: boolean }> {
    const key_sha256 = dedupe.idempotencyKey ? keyDigest(dedupe.idempotencyKey) : undefined;
    // A charge that happened is written down even when an older line is unreadable.
    const existing = (await read()).entries.find(
      (e) =>
        (key_sha256 !== undefined && e.key_sha256 === key_sha256) ||
        (dedupe.uniqueReference === true && e.provider === entry.provider && e.reference === entry.reference),
    );
    if (existing) return { entry: existing, added: false };
    const line: LedgerEntry = { ...entry, ...(key_sha256 ? { key_sha256 } : {}) };
    await appendLineDurably(path, JSON.stringify(line));
    return { entry: line, added: true };
  }
}

/** The UTC calendar day of an ISO time: caps and reports count days in UTC so that they never depend on the host. */
export function utcDay(time: string | Date): string {
  return new Date(time).toISOString().slice(0, 10);
}
