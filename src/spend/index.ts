import { join } from 'node:path';
import type { Config } from '../config.js';
import { ProviderError, SpendRefusedError, UserInputError } from '../errors.js';
import type { Logger } from '../log.js';
import { openConfirmations } from './confirmations.js';
import { listDir, readIfExists, removeDurably, replaceDurably } from './durable.js';
import { spendDir } from './home.js';
import { argsDigest, type IdempotencyStore } from './idempotency.js';
import { openLedger, utcDay, type LedgerEntry } from './ledger.js';

export type { LedgerEntry } from './ledger.js';

/**
 * The one door money goes through. A tool describes what it wants to buy and how to send the request;
 * this module asks for consent (a form shown to the human, or a quote and a confirmation token), holds
 * the caps, keeps the Idempotency-Key durable, and writes the ledger. Tools never do any of that.
 */

export type ConsentAnswer = 'accept' | 'decline' | 'cancel';

/** How the server reaches the human (built in src/server.ts, the one SDK seam). */
export interface Consent {
  /** The client can show the human a form (MCP form elicitation). */
  canAsk(): boolean;
  /** Ask the human to approve; resolves with their answer. */
  ask(message: string): Promise<ConsentAnswer>;
  /** The client can open a URL for the human (MCP URL elicitation). */
  canOpenUrl(): boolean;
  openUrl(message: string, url: string): Promise<ConsentAnswer>;
}

export type ChargeOutcome<T> =
  /** Money moved. `amountUsd` is what the provider charged; `replay` when it answered from its idempotency cache. */
  | { charged: true; reference: string; amountUsd: number; currency?: string; replay: boolean; value: T }
  /** Nothing charged yet, but a payment now waits for the human (3-D Secure): it is tracked as pending. */
  | { charged: false; reference: string; value: T };

export interface ChargeRequest<T> {
  provider: 'modelslab' | 'pixelmuse';
  /** Stable name of what is done, e.g. `modelslab.wallet.fund`. */
  operation: string;
  /** The tool the agent calls again with the confirmation token. */
  tool: string;
  amountUsd: number;
  /** Exactly what the consent covers (never the confirmation token itself); also what the key is derived from. */
  args: Record<string, unknown>;
  /** What is bought, for the human: "add $25.00 to the ModelsLab wallet". */
  what: string;
  /** How it is paid, for the human: "Visa •••• 4242 (pm_…)". */
  paymentMethod: string;
  confirmationToken?: string;
  /** Send the request with this Idempotency-Key. Throw when it is refused (nothing charged). */
  send(idempotencyKey: string): Promise<ChargeOutcome<T>>;
}

export type SpendResult<T> =
  | { status: 'quote'; text: string; token: string; expiresAt: Date }
  | { status: 'declined'; text: string }
  /** An earlier call with this token already completed: nothing was sent again. */
  | { status: 'already_done'; text: string; entry: LedgerEntry | undefined; reference: string }
  | { status: 'done'; outcome: ChargeOutcome<T>; entry: LedgerEntry | undefined; consent: string };

export interface SpendToday {
  day: string;
  spentUsd: number;
  /** Payments that wait for the human (3-D Secure) and charges in flight: counted against the cap. */
  heldUsd: number;
  maxPerDayUsd: number;
  maxPerCallUsd: number;
  autoApproveUsd: number;
}

export interface PendingPayment {
  provider: string;
  operation: string;
  amount: number;
  reference: string;
  description: string;
  created_at: string;
}

export interface Spend {
  charge<T>(req: ChargeRequest<T>): Promise<SpendResult<T>>;
  /** Refuse (SpendRefusedError) an amount the caps do not allow, without charging: for payment links. */
  checkCaps(amountUsd: number): Promise<void>;
  today(): Promise<SpendToday>;
  entries(): Promise<LedgerEntry[]>;
  /** Record a charge that happened outside charge(): a human paid a checkout link. Same reference, one line. */
  record(entry: Omit<LedgerEntry, 'time' | 'key_sha256'>): Promise<{ entry: LedgerEntry; added: boolean }>;
  /** A payment that waited for the human (3-D Secure) is settled: succeeded goes to the ledger, either way it stops being held. */
  resolvePending(
    reference: string,
    succeeded: boolean,
  ): Promise<{ pending: PendingPayment; entry?: LedgerEntry } | undefined>;
}

/** Per server: the caps, the ledger, the quotes and what is in flight. `withConsent` binds it to one call. */
export interface SpendBook {
  readonly dir: string;
  withConsent(consent: Consent): Spend;
}

export function usd(amount: number): string {
  return `$${amount.toFixed(2)}`;
}

const cents = (usdAmount: number) => Math.round(usdAmount * 100);

export function openSpendBook(
  config: Config,
  log: Logger,
  idempotency: IdempotencyStore,
  options: { now?: () => number } = {},
): SpendBook {
  const now = options.now ?? Date.now;
  const dir = spendDir(config);
  const ledger = openLedger(dir);
  const confirmations = openConfirmations(join(dir, 'confirmations'), now);
  const pendingDir = join(dir, 'pending');
  // In-flight reservations, in cents; checked and changed only inside `capTurn` so the caps hold under concurrency.
  let reservedCents = 0;
  let capQueue: Promise<unknown> = Promise.resolve();
  const capTurn = <R>(work: () => Promise<R>): Promise<R> => {
    const next = capQueue.then(work, work);
    capQueue = next.catch(() => undefined);
    return next;
  };
  // A token confirmed twice at once: the second call waits for the first instead of sending anything.
  const inFlight = new Map<string, Promise<SpendResult<unknown>>>();

  const pendingPayments = async (): Promise<PendingPayment[]> => {
    const out: PendingPayment[] = [];
    for (const name of await listDir(pendingDir)) {
      if (!name.endsWith('.json')) continue;
      const text = await readIfExists(join(pendingDir, name));
      if (text) out.push(JSON.parse(text) as PendingPayment);
    }
    return out;
  };

  const today = async (): Promise<SpendToday> => {
    const day = utcDay(new Date(now()));
    const [entries, pending] = await Promise.all([ledger.entries(), pendingPayments()]);
    const spent = entries
      .filter((e) => utcDay(e.time) === day && e.currency.toUpperCase() === 'USD')
      .reduce((sum, e) => sum + cents(e.amount), 0);
    // A 3-D Secure payment the human may still approve counts for a day from when it was made.
    const held = pending
      .filter((p) => now() - Date.parse(p.created_at) < 24 * 60 * 60 * 1000)
      .reduce((sum, p) => sum + cents(p.amount), 0);
    return {
      day,
      spentUsd: spent / 100,
      heldUsd: (held + reservedCents) / 100,
      maxPerDayUsd: config.maxUsdPerDay,
      maxPerCallUsd: config.maxUsdPerCall,
      autoApproveUsd: config.autoApproveUsd,
    };
  };

  /** Throws when the caps forbid the amount; otherwise returns today's figures (computed in one turn). */
  const refuseOverCaps = async (amountUsd: number): Promise<SpendToday> => {
    if (cents(amountUsd) > cents(config.maxUsdPerCall)) {
      throw new SpendRefusedError(
        `${usd(amountUsd)} is above the per-call cap ATELIER_MAX_USD_PER_CALL (${usd(config.maxUsdPerCall)}).`,
        {
          next: 'Use a smaller amount, or ask the human to raise ATELIER_MAX_USD_PER_CALL and restart the server.',
        },
      );
    }
    const t = await today();
    const left = cents(t.maxPerDayUsd) - cents(t.spentUsd) - cents(t.heldUsd);
    if (cents(amountUsd) > left) {
      throw new SpendRefusedError(
        `${usd(amountUsd)} would pass the daily cap ATELIER_MAX_USD_PER_DAY (${usd(t.maxPerDayUsd)}): ` +
          `${usd(t.spentUsd)} spent today (UTC)${t.heldUsd > 0 ? `, ${usd(t.heldUsd)} held by payments in progress` : ''}, ` +
          `${usd(Math.max(left, 0) / 100)} left.`,
        { next: "Try a smaller amount or wait for the next UTC day; spend_report lists today's charges." },
      );
    }
    return t;
  };

  const reserve = (amountUsd: number) =>
    capTurn(async () => {
      await refuseOverCaps(amountUsd);
      reservedCents += cents(amountUsd);
    });
  const release = (amountUsd: number) =>
    capTurn(async () => {
      reservedCents -= cents(amountUsd);
    });

  const capsLine = (t: SpendToday) =>
    `Caps: ${usd(t.spentUsd)} of ${usd(t.maxPerDayUsd)} spent today (UTC); at most ${usd(t.maxPerCallUsd)} per call.`;

  /** Reserve, send with a durable key, record, settle: the part every consented charge shares. */
  const execute = async <T>(
    req: ChargeRequest<T>,
    consent: string,
    onSent?: () => Promise<void>,
  ): Promise<SpendResult<T> & { status: 'done' }> => {
    await reserve(req.amountUsd);
    try {
      if (onSent) await onSent();
      const key = await idempotency.acquire(req.operation, req.args);
      if (key.reused)
        log.info(`${req.operation}: resending with the key of an earlier unfinished request (replay)`);
      let outcome: ChargeOutcome<T>;
      try {
        outcome = await req.send(key.key);
      } catch (error) {
        // A refusal is an outcome: the next identical request is a new one. A lost answer keeps the key.
        if (isRefusal(error)) await key.settle();
        throw error;
      }
      let entry: LedgerEntry | undefined;
      if (outcome.charged) {
        ({ entry } = await ledger.record(
          {
            time: new Date(now()).toISOString(),
            provider: req.provider,
            operation: req.operation,
            amount: outcome.amountUsd,
            currency: (outcome.currency ?? 'USD').toUpperCase(),
            reference: outcome.reference,
            replay: outcome.replay || key.reused,
            description: req.what,
          },
          { idempotencyKey: key.key },
        ));
      } else {
        const pending: PendingPayment = {
          provider: req.provider,
          operation: req.operation,
          amount: req.amountUsd,
          reference: outcome.reference,
          description: req.what,
          created_at: new Date(now()).toISOString(),
        };
        await replaceDurably(
          join(pendingDir, `${safeName(outcome.reference)}.json`),
          JSON.stringify(pending),
        );
      }
      await key.settle();
      return { status: 'done', outcome, entry, consent };
    } finally {
      await release(req.amountUsd);
    }
  };

  const withConsent = (consent: Consent): Spend => ({
    async charge<T>(req: ChargeRequest<T>): Promise<SpendResult<T>> {
      if (!(req.amountUsd > 0) || !Number.isFinite(req.amountUsd)) {
        throw new UserInputError(`The amount must be a positive number of USD, not ${req.amountUsd}.`);
      }
      const argsSha = argsDigest(req.operation, req.args);
      const token = req.confirmationToken;
      if (token !== undefined) return confirmWithToken(req, token, argsSha);

      const t = await refuseOverCaps(req.amountUsd);
      if (cents(req.amountUsd) <= cents(config.autoApproveUsd)) {
        return execute(
          req,
          `auto-approved (at or under ATELIER_AUTO_APPROVE_USD ${usd(config.autoApproveUsd)})`,
        );
      }
      const pendingKey = await idempotency.pending(req.operation, req.args);
      const pendingNote = pendingKey
        ? `An identical charge started at ${pendingKey.createdAt.toISOString()} never got its answer; approving resends it with the same idempotency key, so it cannot be charged twice.`
        : undefined;
      if (consent.canAsk()) {
        const message = [
          `Approve a charge of ${usd(req.amountUsd)} USD?`,
          `What: ${req.what}.`,
          `Paid with: ${req.paymentMethod}.`,
          ...(pendingNote ? [pendingNote] : []),
          capsLine(t),
        ].join('\n');
        const answer = await consent.ask(message);
        if (answer !== 'accept') {
          return {
            status: 'declined',
            text: `Not charged: the human ${answer === 'decline' ? 'declined' : 'dismissed'} the ${usd(req.amountUsd)} charge (${req.what}).`,
          };
        }
        return execute(req, 'approved by the human in the client');
      }
      const { token: issued, expiresAt } = await confirmations.issue(req.operation, argsSha, req.amountUsd);
      const text = [
        `Not charged yet: ${usd(req.amountUsd)} USD needs the human's approval.`,
        `What: ${req.what}.`,
        `Paid with: ${req.paymentMethod}.`,
        ...(pendingNote ? [pendingNote] : []),
        capsLine(t),
        `Ask the human to approve exactly this. Once they do, call ${req.tool} again with the same arguments plus:`,
        `confirmation_token: ${issued}`,
        `The token is valid for 10 minutes (until ${expiresAt.toISOString()}) and only for these arguments.`,
      ].join('\n');
      return { status: 'quote', text, token: issued, expiresAt };
    },
    checkCaps: async (amountUsd) => {
      await capTurn(() => refuseOverCaps(amountUsd));
    },
    today,
    entries: () => ledger.entries(),
    record: (entry) =>
      ledger.record({ ...entry, time: new Date(now()).toISOString() }, { uniqueReference: true }),
    async resolvePending(reference, succeeded) {
      const path = join(pendingDir, `${safeName(reference)}.json`);
      const text = await readIfExists(path);
      if (!text) return undefined;
      const pending = JSON.parse(text) as PendingPayment;
      let entry: LedgerEntry | undefined;
      if (succeeded) {
        ({ entry } = await ledger.record(
          {
            time: new Date(now()).toISOString(),
            provider: pending.provider,
            operation: pending.operation,
            amount: pending.amount,
            currency: 'USD',
            reference,
            replay: false,
            description: pending.description,
          },
          { uniqueReference: true },
        ));
      }
      await removeDurably(path);
      return { pending, entry };
    },
  });

  async function confirmWithToken<T>(
    req: ChargeRequest<T>,
    token: string,
    argsSha: string,
  ): Promise<SpendResult<T>> {
    // The same token twice at once: the later call waits, then finds the first one's outcome on disk.
    const running = inFlight.get(token);
    if (running) await running.catch(() => undefined);
    const run = confirmOnce(req, token, argsSha);
    inFlight.set(token, run as Promise<SpendResult<unknown>>);
    try {
      return await run;
    } finally {
      if (inFlight.get(token) === run) inFlight.delete(token);
    }
  }

  async function confirmOnce<T>(
    req: ChargeRequest<T>,
    token: string,
    argsSha: string,
  ): Promise<SpendResult<T>> {
    const again = `Call ${req.tool} again without confirmation_token for a new quote, and show it to the human.`;
    const record = await confirmations.read(token);
    if (!record) {
      throw new SpendRefusedError('This confirmation_token is unknown or has expired; nothing was charged.', {
        next: again,
      });
    }
    if (record.operation !== req.operation || record.args_sha256 !== argsSha) {
      throw new SpendRefusedError(
        `This confirmation_token was quoted for other arguments (${usd(record.amount_usd)} for ${record.operation}); ` +
          'a token confirms only what it was quoted for. Nothing was charged.',
        {
          next: `Call ${req.tool} without confirmation_token for a quote of these arguments, and show it to the human.`,
        },
      );
    }
    if (record.reference) {
      const entry = (await ledger.entries()).find(
        (e) => e.reference === record.reference && e.operation === req.operation,
      );
      return alreadyDone(req, record.reference, entry);
    }
    if (record.refused) {
      throw new SpendRefusedError(
        `This confirmation_token was already used and the provider refused that charge (${record.refused}); nothing was charged.`,
        { next: again },
      );
    }
    // A token used but never answered (the server died mid-request) may finish its charge after its ten
    // minutes: the same key goes out, so the provider replays rather than charges again.
    if (!record.used_at && Date.parse(record.expires_at) <= now()) {
      throw new SpendRefusedError(
        'This confirmation_token has expired (tokens last 10 minutes); nothing was charged.',
        {
          next: again,
        },
      );
    }
    const usedAt = record.used_at ?? new Date(now()).toISOString();
    try {
      const done = await execute(req, 'confirmed with a quoted confirmation_token', async () => {
        if (!record.used_at) await confirmations.update(token, { ...record, used_at: usedAt });
      });
      await confirmations.update(token, { ...record, used_at: usedAt, reference: done.outcome.reference });
      return done;
    } catch (error) {
      if (isRefusal(error)) {
        await confirmations.update(token, {
          ...record,
          used_at: usedAt,
          refused: error.code ?? `HTTP ${error.status}`,
        });
      }
      throw error;
    }
  }

  function alreadyDone<T>(
    req: ChargeRequest<T>,
    reference: string,
    entry: LedgerEntry | undefined,
  ): SpendResult<T> {
    return {
      status: 'already_done',
      reference,
      entry,
      text:
        `Already done: this confirmation_token was used for ${req.what} (${reference}` +
        `${entry ? `, ${usd(entry.amount)} recorded ${entry.time}` : ''}). Nothing was charged again.`,
    };
  }

  return { dir, withConsent };
}

/** The provider said no (a decline, a validation error): known outcome, nothing charged. Not 429, not 5xx. */
function isRefusal(error: unknown): error is ProviderError {
  return (
    error instanceof ProviderError &&
    error.status !== undefined &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 408 &&
    error.status !== 429
  );
}

function safeName(reference: string): string {
  return reference.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 120);
}
