import { join } from 'node:path';
import type { Config } from '../config.js';
import {
  annotate,
  OutcomeUnknownError,
  type ProviderError,
  SpendRefusedError,
  SpendStateError,
  UserInputError,
} from '../errors.js';
import type { Logger } from '../log.js';
import { openConfirmations, type Confirmation } from './confirmations.js';
import { readIfExists, readRecords, removeDurably, replaceDurably } from './durable.js';
import { spendDir } from './home.js';
import { argsDigest, newKey, openAttemptStore, type Attempt } from './idempotency.js';
import { keyDigest, openLedger, utcDay, type LedgerEntry } from './ledger.js';
import { openSpendLock } from './lock.js';
import { fromMicros, micros, usd } from './money.js';
import { failureClass } from './outcome.js';
import { currentOwner, formatOwner, isAlive, parseOwner } from './owner.js';

export type { LedgerEntry } from './ledger.js';
export { usd } from './money.js';

/**
 * The one door money goes through. A tool describes what it wants to buy and how to send the request;
 * this module asks for consent (a form shown to the human, or a quote and a confirmation token), holds
 * the caps, keeps the Idempotency-Key durable, and writes the ledger. Tools never do any of that.
 *
 * Every durable step happens under one lock shared by every server process on the ATELIER_HOME, in an order
 * that leaves a safe state wherever the process dies: the hold (the attempt file, with its key) is written
 * before the request leaves; the ledger line, then the token's reference, before the hold is released.
 */

export type ConsentAnswer = 'accept' | 'decline' | 'cancel';

/** How the server reaches the human (built in src/mcp/server.ts, the one SDK seam). */
export interface Consent {
  /** The client can show the human a form (MCP form elicitation). */
  canAsk(): boolean;
  /**
   * Ask the human to approve; resolves with their answer. `charge` is what the answer approves: in the 2026-07-28
   * era the question and its answer travel in separate requests, and the answer counts only for this charge.
   */
  ask(message: string, charge?: { operation: string; amountUsd: number }): Promise<ConsentAnswer>;
  /** The client can open a URL for the human (MCP URL elicitation). */
  canOpenUrl(): boolean;
  openUrl(message: string, url: string): Promise<ConsentAnswer>;
}

/** What a charge's `send` is told besides its key. */
export interface ChargeAttempt {
  /** The most this request may ask the provider for (what the human approved): never more. */
  approvedUsd: number;
  /** What an earlier send of this same charge kept, to be resent exactly; undefined on a first send. */
  memo: Record<string, unknown> | undefined;
  /** Keep `memo` durably with the charge before the request that uses it leaves. */
  remember(memo: Record<string, unknown>): Promise<void>;
}

/**
 * A known outcome of a charge's request. Refusals are thrown (a ProviderError 4xx, or any error marked
 * `nothingSent`); an answer that does not confirm the charge is thrown as OutcomeUnknownError.
 */
export type ChargeOutcome<T> =
  /** The provider confirmed the charge. `reportedUsd`: the amount its answer stated, kept beside the approved one. */
  | { kind: 'confirmed'; reference: string; reportedUsd?: number; replay: boolean; value: T }
  /** Nothing charged yet: the payment waits for the human (3-D Secure) and is held until it resolves. */
  | { kind: 'action_required'; reference: string; value: T }
  /** Charged, then refunded by the provider in the same answer (a paid generation that failed). */
  | { kind: 'refunded'; reference: string; value: T }
  /** A standing authorisation (`standing`) the provider took: nothing charged now, nothing booked as spent. */
  | { kind: 'authorized'; reference: string; value: T };

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
  /**
   * Not a charge now: the provider may charge `amountUsd` each time `trigger` happens (auto-funding). The human
   * approves that amount and that trigger; it must fit the per-call cap (each charge is one call's worth), and the
   * day cap cannot hold charges the provider makes on its own, so it is not counted. Kept until `endStanding`.
   */
  standing?: { trigger: string };
  send(idempotencyKey: string, attempt: ChargeAttempt): Promise<ChargeOutcome<T>>;
}

/** A standing authorisation the provider holds: what `account_status` and `spend_report` show as on. */
export interface StandingAuthorization {
  provider: string;
  operation: string;
  amount: number;
  trigger: string;
  description: string;
  paid_with: string;
  reference: string;
  since: string;
}

export type SpendResult<T> =
  | { status: 'quote'; text: string; token: string; expiresAt: Date }
  | { status: 'declined'; text: string }
  /**
   * An earlier call with this token already completed: nothing was sent again. `earlier`: that charge's key and
   * memo, handed over once when the process that booked it died before releasing its hold, so the caller may
   * replay the request (a replay, not a charge) to get back what was bought.
   */
  | {
      status: 'already_done';
      text: string;
      entry: LedgerEntry | undefined;
      reference: string;
      earlier?: { idempotencyKey: string; memo: Record<string, unknown> };
    }
  | { status: 'done'; outcome: ChargeOutcome<T>; entry: LedgerEntry | undefined; consent: string };

/** A request that moves no money but must not happen twice (a card change, a job's create request). */
export interface OnceRequest<T> {
  operation: string;
  args: unknown;
  send(idempotencyKey: string): Promise<T>;
}

export interface OnceResult<T> {
  value: T;
  /** An identical earlier request never learnt its outcome: this one resent its key. */
  replayed: boolean;
  /** The key is forgotten (a file removed) while the caller goes on; failures are logged, not thrown. */
  settled: Promise<void>;
}

export interface SpendToday {
  day: string;
  spentUsd: number;
  /** Charges in flight or with an unknown outcome, and payments that wait for the human: counted against the cap. */
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

/** A charge held against the cap: in flight, with an unknown outcome, or waiting for 3-D Secure. */
export interface HeldCharge {
  amountUsd: number;
  description: string;
  since: string;
  state: 'in flight' | 'outcome unknown' | 'waiting for 3-D Secure';
  reference?: string;
}

export interface SpendOverview {
  entries: LedgerEntry[];
  /** Ledger lines that cannot be read; while there is one, no charge is made. */
  problems: string[];
  held: HeldCharge[];
  standing: StandingAuthorization[];
}

export interface Spend {
  charge<T>(req: ChargeRequest<T>): Promise<SpendResult<T>>;
  /** Send a request that moves no money at most once: its key is durable until its outcome is known. */
  once<T>(req: OnceRequest<T>): Promise<OnceResult<T>>;
  /** Refuse (SpendRefusedError) an amount the caps do not allow, without charging: for payment links. */
  checkCaps(amountUsd: number): Promise<void>;
  today(): Promise<SpendToday>;
  overview(): Promise<SpendOverview>;
  /** A payment link a human will pay: its amount is what the ledger books when the checkout is confirmed. */
  rememberLink(link: {
    sessionId: string;
    provider: 'modelslab';
    amountUsd: number;
    what: string;
  }): Promise<void>;
  /** A human paid a checkout link: one ledger line per session, at the link's amount. */
  recordCheckout(checkout: {
    sessionId: string;
    provider: 'modelslab';
    operation: string;
    description: string;
    /** The amount the provider's answer stated: booked only for a link this server did not create. */
    reportedUsd: unknown;
    replay: boolean;
  }): Promise<{ entry: LedgerEntry; added: boolean }>;
  /** Standing authorisations set through `charge` with `standing` (auto-funding) and not ended since. */
  standing(): Promise<StandingAuthorization[]>;
  /** The provider no longer holds the standing authorisation of this operation (it was disabled). */
  endStanding(operation: string): Promise<void>;
  /**
   * Value a provider added without charging (a redeemed coupon): a ledger line of kind `credit`, one per
   * reference, that no cap counts and spend_report lists apart from the charges.
   */
  recordCredit(credit: {
    provider: 'modelslab';
    operation: string;
    amountUsd: number;
    reference: string;
    description: string;
  }): Promise<{ entry: LedgerEntry; added: boolean }>;
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

const DAY_MS = 24 * 60 * 60 * 1000;

export interface SpendBookOptions {
  now?: () => number;
  /** How long to wait for another process's spend lock. */
  lockTimeoutMs?: number;
}

export function openSpendBook(config: Config, log: Logger, options: SpendBookOptions = {}): SpendBook {
  const now = options.now ?? Date.now;
  const dir = spendDir(config);
  const ledger = openLedger(dir);
  const confirmations = openConfirmations(join(dir, 'confirmations'), now);
  const attempts = openAttemptStore(join(dir, 'idempotency'));
  const lock = openSpendLock(join(dir, 'lock'), { timeoutMs: options.lockTimeoutMs });
  const pendingDir = join(dir, 'pending');
  const standingDir = join(dir, 'standing');
  const linksDir = join(dir, 'links');
  // A charge of these arguments already being sent by this process: an identical one waits for it.
  const inFlight = new Map<string, Promise<unknown>>();
  const maxPerCall = micros(config.maxUsdPerCall);
  const maxPerDay = micros(config.maxUsdPerDay);
  const autoApprove = micros(config.autoApproveUsd);

  const readJson = async <R>(path: string, valid: (v: R) => boolean): Promise<R | undefined> => {
    const text = await readIfExists(path);
    if (text === undefined) return undefined;
    try {
      const value = JSON.parse(text) as R;
      if (valid(value)) return value;
    } catch {
      // reported below
    }
    throw new SpendStateError(path, `A spend record (${path}) cannot be read; nothing was charged.`, {
      next: 'Ask the human to repair or delete that file (check the payment with the provider first), then call again.',
    });
  };
  const pendingPath = (reference: string) => join(pendingDir, `${safeName(reference)}.json`);
  const readPending = (path: string) => readJson<PendingPayment>(path, (p) => Number.isFinite(p.amount));
  const pendingPayments = () => readRecords(pendingDir, readPending);
  const standingPath = (operation: string) => join(standingDir, `${safeName(operation)}.json`);
  const standingList = () =>
    readRecords(standingDir, (path) =>
      readJson<StandingAuthorization>(
        path,
        (a) => Number.isFinite(a.amount) && typeof a.trigger === 'string',
      ),
    );

  const young = (since: string) => now() - Date.parse(since) < DAY_MS;

  /** What stands against today's cap, in micro-dollars; `except`: the attempt a replay will resend. */
  const tally = async (except?: string) => {
    const day = utcDay(new Date(now()));
    const [entries, waiting, open] = await Promise.all([
      ledger.entries(),
      pendingPayments(),
      attempts.list(),
    ]);
    const booked = new Set(entries.map((e) => e.key_sha256));
    let spent = 0;
    for (const e of entries)
      if (utcDay(e.time) === day && e.currency.toUpperCase() === 'USD' && e.kind !== 'credit')
        spent += micros(e.amount);
    let held = 0;
    for (const p of waiting) if (young(p.created_at)) held += micros(p.amount);
    for (const a of open) {
      if (a.amount_micros && a.args_sha256 !== except && young(a.created_at) && !booked.has(keyDigest(a.key)))
        held += a.amount_micros;
    }
    return { day, spent, held };
  };

  const asToday = ({ day, spent, held }: { day: string; spent: number; held: number }): SpendToday => ({
    day,
    spentUsd: fromMicros(spent),
    heldUsd: fromMicros(held),
    maxPerDayUsd: config.maxUsdPerDay,
    maxPerCallUsd: config.maxUsdPerCall,
    autoApproveUsd: config.autoApproveUsd,
  });
  const today = async (): Promise<SpendToday> => asToday(await tally());

  /**
   * Throws when the caps forbid the amount; otherwise returns today's figures. `standing`: only the per-call cap
   * (the amount is charged later, one top-up at a time, not today).
   */
  const refuseOverCaps = async (
    amountUsd: number,
    except?: string,
    standing = false,
  ): Promise<SpendToday> => {
    if (micros(amountUsd) > maxPerCall) {
      throw new SpendRefusedError(
        `${usd(amountUsd)} is above the per-call cap ATELIER_MAX_USD_PER_CALL (${usd(config.maxUsdPerCall)}).`,
        {
          next: 'Use a smaller amount, or ask the human to raise ATELIER_MAX_USD_PER_CALL and restart the server.',
        },
      );
    }
    const figures = await tally(except);
    if (standing) return asToday(figures);
    const { spent, held } = figures;
    const left = maxPerDay - spent - held;
    if (micros(amountUsd) > left) {
      throw new SpendRefusedError(
        `${usd(amountUsd)} would pass the daily cap ATELIER_MAX_USD_PER_DAY (${usd(config.maxUsdPerDay)}): ` +
          `${usd(fromMicros(spent))} spent today (UTC)${held > 0 ? `, ${usd(fromMicros(held))} held by payments in progress or with an unknown outcome` : ''}, ` +
          `${usd(fromMicros(Math.max(left, 0)))} left.`,
        {
          next: "Try a smaller amount or wait for the next UTC day; spend_report lists today's charges and holds.",
        },
      );
    }
    return asToday(figures);
  };

  /**
   * A charge whose answer never came and that no replay settled within a day: the provider's replay window is
   * over, so its key protects nothing any more. It is booked as spent with an unknown outcome (on its day) and
   * its key released. Runs under the lock.
   */
  const closeStale = async (): Promise<void> => {
    for (const a of await attempts.list()) {
      if (young(a.created_at)) continue;
      const owner = parseOwner(a.owner);
      if (owner && (await isAlive(owner))) continue;
      if (a.amount_micros) {
        await ledger.record(
          {
            time: a.created_at,
            provider: a.provider ?? 'unknown',
            operation: a.operation,
            amount: fromMicros(a.amount_micros),
            currency: 'USD',
            reference: `unknown:${keyDigest(a.key).slice(0, 12)}`,
            replay: false,
            description: `${a.description ?? a.operation} (outcome never known: check the provider)`,
            outcome: 'unknown',
          },
          { idempotencyKey: a.key },
        );
      }
      await attempts.remove(a.args_sha256, a.key);
    }
  };

  const capsLine = (t: SpendToday) =>
    `Caps: ${usd(t.spentUsd)} of ${usd(t.maxPerDayUsd)} spent today (UTC)` +
    `${t.heldUsd > 0 ? `, ${usd(t.heldUsd)} held` : ''}; at most ${usd(t.maxPerCallUsd)} per call.`;

  /** One at a time per arguments in this process; other processes are kept apart by the attempt's owner. */
  const inTurn = async <R>(digest: string, work: () => Promise<R>): Promise<R> => {
    for (let running = inFlight.get(digest); running; running = inFlight.get(digest)) {
      await running.catch(() => undefined);
    }
    const run = work();
    inFlight.set(digest, run);
    try {
      return await run;
    } finally {
      if (inFlight.get(digest) === run) inFlight.delete(digest);
    }
  };

  /** The attempt to send under the lock: an unsettled identical one (same key: a replay), else a new one. */
  const claim = async (
    digest: string,
    fresh: Omit<Attempt, 'key' | 'args_sha256' | 'created_at' | 'owner'>,
    opts: { expectKey?: string; shareInFlight?: boolean } = {},
  ): Promise<{ attempt: Attempt; reused: boolean }> => {
    const { expectKey } = opts;
    const owner = formatOwner(await currentOwner());
    let found = await attempts.read(digest);
    // A charge whose key is in the ledger is settled: the process died after booking it, before releasing the
    // hold. Resending its key would answer a new approval with the old charge's replay.
    if (found?.amount_micros !== undefined) {
      const key = keyDigest(found.key);
      if ((await ledger.read()).entries.some((e) => e.key_sha256 === key)) {
        await attempts.remove(digest, found.key);
        found = undefined;
      }
    }
    // A token that already sent a charge may only resend that charge's own key.
    const existing =
      expectKey === undefined || (found && keyDigest(found.key) === expectKey) ? found : undefined;
    if (existing && (young(existing.created_at) || expectKey !== undefined)) {
      const sender = parseOwner(existing.owner);
      // Two identical job requests at once share one key (the provider answers both with one job); a charge waits.
      if (opts.shareInFlight && sender && (await isAlive(sender))) return { attempt: existing, reused: true };
      if (sender && (await isAlive(sender))) {
        throw new SpendRefusedError(
          `An identical request is being sent right now by another atelier-mcp process (pid ${sender.pid}); nothing was sent again.`,
          { next: 'Call again in a few seconds: it then finds that request’s outcome.' },
        );
      }
      const attempt = { ...existing, ...fresh, memo: existing.memo, owner };
      await attempts.write(attempt);
      return { attempt, reused: true };
    }
    if (expectKey !== undefined) {
      throw new OutcomeUnknownError(
        'This confirmation_token was used to send a charge whose outcome was never recorded; nothing was sent again.',
        {
          next:
            'Check the provider for the charge (modelslab_wallet transactions, modelslab_payment_status, the Stripe ' +
            'dashboard for MPP) and spend_report; call the tool again without confirmation_token only once you know it did not go through.',
        },
      );
    }
    const attempt: Attempt = {
      key: newKey(fresh.operation),
      args_sha256: digest,
      created_at: new Date(now()).toISOString(),
      owner,
      ...fresh,
    };
    await attempts.write(attempt);
    return { attempt, reused: false };
  };

  /** The request left and its answer is lost (or says nothing): keep the key and the hold, let nobody own it. */
  const markUnknown = (attempt: Attempt, error: unknown) =>
    lock.run(async () => {
      const current = await attempts.read(attempt.args_sha256).catch(() => undefined);
      if (current?.key !== attempt.key) return;
      const { owner: _, ...rest } = current;
      await attempts.write({
        ...rest,
        unknown: error instanceof Error ? error.message.slice(0, 300) : String(error),
      });
    });

  const withConsent = (consent: Consent): Spend => {
    /**
     * Claim the hold (and the token), send, and book the outcome. `start` runs under the lock before anything
     * is sent; it may answer without sending (already done, a new quote).
     */
    const execute = async <T>(
      req: ChargeRequest<T>,
      digest: string,
      consentText: string,
      token?: { value: string; record: Confirmation },
    ): Promise<SpendResult<T>> =>
      inTurn(digest, async () => {
        const started = await lock.run(
          async (): Promise<SpendResult<T> | { attempt: Attempt; reused: boolean }> => {
            await closeStale();
            let record = token ? await confirmations.read(token.value) : undefined;
            if (token) {
              if (!record) throw unknownToken(req.tool);
              const early = await earlierOutcome(req, token.value, record);
              if (early) return early;
            }
            await refuseOverCaps(req.amountUsd, digest, req.standing !== undefined);
            const claimed = await claim(
              digest,
              {
                operation: req.operation,
                // A standing authorisation charges nothing now: nothing is held, nothing is booked if its answer is lost.
                amount_micros: req.standing ? undefined : micros(req.amountUsd),
                provider: req.provider,
                description: req.what,
              },
              { expectKey: record?.key_sha256 },
            );
            if (token && record && !record.key_sha256) {
              record = {
                ...record,
                used_at: new Date(now()).toISOString(),
                key_sha256: keyDigest(claimed.attempt.key),
              };
              await confirmations.update(token.value, record);
            }
            return claimed;
          },
        );
        if ('status' in started) return started;
        const { attempt, reused } = started;
        if (reused)
          log.info(`${req.operation}: resending with the key of an earlier unsettled request (replay)`);
        let outcome: ChargeOutcome<T>;
        try {
          outcome = await req.send(attempt.key, {
            approvedUsd: fromMicros(attempt.amount_micros ?? 0),
            memo: attempt.memo,
            remember: (memo) =>
              lock.run(async () => {
                attempt.memo = memo;
                await attempts.write(attempt);
              }),
          });
        } catch (error) {
          const failure = failureClass(error);
          // A resend that was not processed leaves the earlier attempt's outcome as unknown as it was.
          if (failure === 'unknown' || (reused && failure === 'not sent')) {
            await markUnknown(attempt, error);
            throw annotate(error, {
              facts: [
                req.standing
                  ? `${error instanceof OutcomeUnknownError ? 'It' : 'OUTCOME UNKNOWN: it'} may have been set (${req.what}); nothing was charged by it yet.`
                  : `${error instanceof OutcomeUnknownError ? 'The' : 'OUTCOME UNKNOWN: the'} ${usd(req.amountUsd)} charge (${req.what}) may have gone through; it is held against today's cap until it is settled.`,
              ],
              next:
                `Call ${req.tool} again with the same arguments${token ? ' and the same confirmation_token' : ''}: it resends the same ` +
                (req.standing
                  ? 'request with the same Idempotency-Key, so the provider answers it instead of setting it twice.'
                  : 'request with the same Idempotency-Key, so the provider answers it instead of charging again. spend_report shows it as held.'),
            });
          }
          await lock.run(async () => {
            if (token) {
              const record = await confirmations.read(token.value);
              // A provider's no spends the token; a request that was never processed leaves it usable.
              if (record && failure === 'refused')
                await confirmations.update(token.value, { ...record, refused: refusalCode(error) });
              else if (record) {
                const { used_at: _u, key_sha256: _k, ...unused } = record;
                await confirmations.update(token.value, unused);
              }
            }
            await attempts.remove(digest, attempt.key);
          });
          throw error;
        }
        let entry: LedgerEntry | undefined;
        try {
          entry = await lock.run(() => book(req, attempt, outcome, reused));
        } catch (error) {
          // The charge happened; its hold and key stay, so the same call replays it and books it then. Nobody
          // sends it any more: left owned by this live process, that call would be refused as in progress.
          await markUnknown(attempt, error).catch(() => undefined);
          throw annotate(error, {
            facts: [
              `The provider confirmed the charge (${outcome.reference}), but it could not be written to the ledger, so it is still held against the cap.`,
            ],
            next: `Call ${req.tool} again with the same arguments${token ? ' and confirmation_token' : ''}: the provider replays the same charge (no second one) and it is recorded then.`,
          });
        }
        // The ledger line settles the charge: the token and the hold follow it, and a failure here only leaves
        // files that the ledger already answers for (a retry finds the line by its key).
        await lock
          .run(async () => {
            if (token) {
              const record = await confirmations.read(token.value);
              if (record)
                await confirmations.update(token.value, { ...record, reference: outcome.reference });
            }
            await attempts.remove(attempt.args_sha256, attempt.key);
          })
          .catch((error: unknown) =>
            log.warn(
              `${req.operation}: booked ${outcome.reference}, but tidying up after it failed: ${String(error)}`,
            ),
          );
        return { status: 'done', outcome, entry, consent: consentText };
      });

    /** Under the lock: an outcome already known for this token, a refusal, or a new quote. */
    const earlierOutcome = async <T>(
      req: ChargeRequest<T>,
      token: string,
      record: Confirmation,
    ): Promise<SpendResult<T> | undefined> => {
      const again = `Call ${req.tool} again without confirmation_token for a new quote, and show it to the human.`;
      if (record.operation !== req.operation || record.args_sha256 !== argsDigest(req.operation, req.args)) {
        throw new SpendRefusedError(
          `This confirmation_token was quoted for other arguments (${usd(record.amount_usd)} for ${record.operation}); ` +
            'a token confirms only what it was quoted for. Nothing was charged.',
          {
            next: `Call ${req.tool} without confirmation_token for a quote of these arguments, and show it to the human.`,
          },
        );
      }
      const reference =
        record.reference ??
        (record.key_sha256
          ? (await ledger.entries()).find((e) => e.key_sha256 === record.key_sha256)?.reference
          : undefined);
      if (reference) {
        const entries = await ledger.entries();
        const entry = entries.find((e) => e.reference === reference && e.operation === req.operation);
        if (!record.reference) await confirmations.update(token, { ...record, reference });
        const earlier = await releaseBooked(argsDigest(req.operation, req.args), record.key_sha256);
        return {
          status: 'already_done',
          reference,
          entry,
          ...(earlier?.memo ? { earlier: { idempotencyKey: earlier.key, memo: earlier.memo } } : {}),
          text:
            `Already done: this confirmation_token was used for ${req.what} (${reference}` +
            `${entry ? `, ${usd(entry.amount)} recorded ${entry.time}` : ''}). Nothing was charged again.`,
        };
      }
      if (record.refused) {
        throw new SpendRefusedError(
          `This confirmation_token was already used and the provider refused that charge (${record.refused}); nothing was charged.`,
          { next: again },
        );
      }
      // A token used but never answered (the server died mid-request) may finish its charge after its ten
      // minutes: the same key goes out, so the provider replays rather than charges again.
      if (!record.key_sha256 && Date.parse(record.expires_at) <= now()) {
        throw new SpendRefusedError(
          'This confirmation_token has expired (tokens last 10 minutes); nothing was charged.',
          {
            next: again,
          },
        );
      }
      if (micros(req.amountUsd) > record.amount_micros) {
        const t = await refuseOverCaps(req.amountUsd, argsDigest(req.operation, req.args));
        return quote(
          req,
          t,
          `The price changed: ${usd(record.amount_usd)} was approved, ${req.what} now costs ${usd(req.amountUsd)}. Nothing was charged.`,
        );
      }
      return undefined;
    };

    /** Under the lock: the hold a dead process left after booking its charge, taken away (it is settled). */
    const releaseBooked = async (digest: string, keySha256: string | undefined) => {
      const held = keySha256 ? await attempts.read(digest).catch(() => undefined) : undefined;
      if (!held || keyDigest(held.key) !== keySha256) return undefined;
      const sender = parseOwner(held.owner);
      if (sender && (await isAlive(sender))) return undefined;
      await attempts.remove(digest, held.key);
      return held;
    };

    const quote = async <T>(
      req: ChargeRequest<T>,
      t: SpendToday,
      headline?: string,
    ): Promise<SpendResult<T>> => {
      const digest = argsDigest(req.operation, req.args);
      const { token, expiresAt } = await confirmations.issue(req.operation, digest, {
        usd: req.amountUsd,
        micros: micros(req.amountUsd),
      });
      const text = [
        ...(headline ? [headline] : []),
        req.standing
          ? `Not set yet: automatic charges of ${usd(req.amountUsd)} USD each need the human's approval.`
          : `Not charged yet: ${usd(req.amountUsd)} USD needs the human's approval.`,
        ...described(req),
        ...(await unsettledNote(digest)),
        capsLine(t),
        `Ask the human to approve exactly this. Once they do, call ${req.tool} again with the same arguments plus:`,
        `confirmation_token: ${token}`,
        `The token is valid for 10 minutes (until ${expiresAt.toISOString()}), only for these arguments and at most ${usd(req.amountUsd)}.`,
      ].join('\n');
      return { status: 'quote', text, token, expiresAt };
    };

    const unsettledNote = async (digest: string): Promise<string[]> => {
      const earlier = await attempts.read(digest);
      return earlier && young(earlier.created_at)
        ? [
            `An identical charge started at ${earlier.created_at} never got its answer; approving resends it with the same idempotency key, so it cannot be charged twice.`,
          ]
        : [];
    };

    return {
      async charge<T>(req: ChargeRequest<T>): Promise<SpendResult<T>> {
        // Not finite (NaN, Infinity, not a number at all), or not above zero in micro-dollars (0, negatives, 1e-9).
        if (!Number.isFinite(req.amountUsd) || micros(req.amountUsd) <= 0) {
          throw new UserInputError(
            `The price is not a positive amount of USD (${String(req.amountUsd)}); nothing was sent.`,
            {
              next: 'Check the price with get_pricing or modelslab_list_plans; report the provider answer if it persists.',
            },
          );
        }
        const digest = argsDigest(req.operation, req.args);
        const token = req.confirmationToken;
        if (token !== undefined) {
          const record = await confirmations.read(token);
          if (!record) throw unknownToken(req.tool);
          return execute(req, digest, 'confirmed with a quoted confirmation_token', { value: token, record });
        }
        const t = await lock.run(() => refuseOverCaps(req.amountUsd, digest, req.standing !== undefined));
        // The amount is at least a micro-dollar here, so an auto-approval of 0 (the default) approves nothing. A
        // standing authorisation is never auto-approved: it lets the provider charge again and again.
        if (!req.standing && micros(req.amountUsd) <= autoApprove) {
          return execute(
            req,
            digest,
            `auto-approved (at or under ATELIER_AUTO_APPROVE_USD ${usd(config.autoApproveUsd)})`,
          );
        }
        if (consent.canAsk()) {
          const message = [
            req.standing
              ? `Approve automatic charges of ${usd(req.amountUsd)} USD each?`
              : `Approve a charge of ${usd(req.amountUsd)} USD?`,
            ...described(req),
            ...(await unsettledNote(digest)),
            capsLine(t),
          ].join('\n');
          const answer = await consent.ask(message, { operation: req.operation, amountUsd: req.amountUsd });
          if (answer !== 'accept') {
            return {
              status: 'declined',
              text: req.standing
                ? `Not set: the human ${answer === 'decline' ? 'declined' : 'dismissed'} automatic charges of ${usd(req.amountUsd)} (${req.what}); nothing was sent.`
                : `Not charged: the human ${answer === 'decline' ? 'declined' : 'dismissed'} the ${usd(req.amountUsd)} charge (${req.what}).`,
            };
          }
          return execute(req, digest, 'approved by the human in the client');
        }
        return lock.run(() => quote(req, t));
      },

      async once<T>(req: OnceRequest<T>): Promise<OnceResult<T>> {
        const digest = argsDigest(req.operation, req.args);
        const { attempt, reused } = await lock.run(() =>
          claim(digest, { operation: req.operation }, { shareInFlight: true }),
        );
        let value: T;
        try {
          value = await req.send(attempt.key);
        } catch (error) {
          const failure = failureClass(error);
          if (failure === 'unknown' || (reused && failure === 'not sent')) await markUnknown(attempt, error);
          else await lock.run(() => attempts.remove(digest, attempt.key));
          throw error;
        }
        const settled = lock
          .run(() => attempts.remove(digest, attempt.key))
          .catch((error: unknown) => log.warn(`could not settle an idempotency key: ${String(error)}`));
        return { value, replayed: reused, settled };
      },

      checkCaps: async (amountUsd) => {
        if (!(micros(amountUsd) > 0)) {
          throw new UserInputError(`The price is not a positive amount of USD (${String(amountUsd)}).`);
        }
        await lock.run(() => refuseOverCaps(amountUsd));
      },
      today,
      standing: standingList,
      endStanding: (operation) => lock.run(() => removeDurably(standingPath(operation))),
      recordCredit: (credit) =>
        lock.run(() =>
          ledger.record(
            {
              time: new Date(now()).toISOString(),
              provider: credit.provider,
              operation: credit.operation,
              amount: credit.amountUsd,
              currency: 'USD',
              reference: credit.reference,
              replay: false,
              description: credit.description,
              kind: 'credit',
            },
            { uniqueReference: true },
          ),
        ),
      async overview() {
        const [{ entries, problems }, waiting, open, standing] = await Promise.all([
          ledger.read(),
          pendingPayments(),
          attempts.list(),
          standingList(),
        ]);
        const booked = new Set(entries.map((e) => e.key_sha256));
        const held: HeldCharge[] = [];
        for (const a of open) {
          if (!a.amount_micros || !young(a.created_at) || booked.has(keyDigest(a.key))) continue;
          const sender = parseOwner(a.owner);
          held.push({
            amountUsd: fromMicros(a.amount_micros),
            description: a.description ?? a.operation,
            since: a.created_at,
            state: sender && (await isAlive(sender)) ? 'in flight' : 'outcome unknown',
          });
        }
        for (const p of waiting) {
          if (!young(p.created_at)) continue;
          held.push({
            amountUsd: p.amount,
            description: p.description,
            since: p.created_at,
            state: 'waiting for 3-D Secure',
            reference: p.reference,
          });
        }
        return { entries, problems, held, standing };
      },
      async rememberLink(link) {
        await replaceDurably(
          join(linksDir, `${safeName(link.sessionId)}.json`),
          JSON.stringify({ amount_micros: micros(link.amountUsd), what: link.what, provider: link.provider }),
        );
      },
      async recordCheckout(checkout) {
        const link = await readJson<{ amount_micros: number }>(
          join(linksDir, `${safeName(checkout.sessionId)}.json`),
          (l) => Number.isSafeInteger(l.amount_micros) && l.amount_micros > 0,
        );
        const reported = Number(checkout.reportedUsd);
        // A link made elsewhere has no approved amount: the provider's figure is all there is, if it is one.
        const amount = link
          ? fromMicros(link.amount_micros)
          : Number.isFinite(reported) && reported >= 0
            ? reported
            : undefined;
        if (amount === undefined) {
          throw new SpendStateError(
            linksDir,
            `Checkout ${checkout.sessionId} was paid, but it was not created by this server and the provider's answer states no usable amount (${JSON.stringify(checkout.reportedUsd)}).`,
            {
              next: 'Check the amount with modelslab_wallet (transactions) and tell the human; nothing was recorded.',
            },
          );
        }
        return lock.run(() =>
          ledger.record(
            {
              time: new Date(now()).toISOString(),
              provider: checkout.provider,
              operation: checkout.operation,
              amount,
              currency: 'USD',
              reference: checkout.sessionId,
              replay: checkout.replay,
              description: checkout.description,
              ...(link && checkout.reportedUsd !== undefined && micros(reported) !== link.amount_micros
                ? { reported_amount: checkout.reportedUsd }
                : {}),
            },
            { uniqueReference: true },
          ),
        );
      },
      resolvePending: (reference, succeeded) =>
        lock.run(async () => {
          const path = pendingPath(reference);
          const pending = await readPending(path);
          if (!pending) return undefined;
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
        }),
    };
  };

  /** Under the lock: the ledger line, or the 3-D Secure hold. */
  const book = async <T>(
    req: ChargeRequest<T>,
    attempt: Attempt,
    outcome: ChargeOutcome<T>,
    reused: boolean,
  ): Promise<LedgerEntry | undefined> => {
    const approved = fromMicros(attempt.amount_micros ?? 0);
    const time = new Date(now()).toISOString();
    let entry: LedgerEntry | undefined;
    if (outcome.kind === 'authorized') {
      const standing: StandingAuthorization = {
        provider: req.provider,
        operation: req.operation,
        amount: fromMicros(micros(req.amountUsd)),
        trigger: req.standing?.trigger ?? '',
        description: req.what,
        paid_with: req.paymentMethod,
        reference: outcome.reference,
        since: time,
      };
      await replaceDurably(standingPath(req.operation), JSON.stringify(standing));
    } else if (outcome.kind === 'action_required') {
      const pending: PendingPayment = {
        provider: req.provider,
        operation: req.operation,
        amount: approved,
        reference: outcome.reference,
        description: req.what,
        created_at: time,
      };
      await replaceDurably(pendingPath(outcome.reference), JSON.stringify(pending));
    } else {
      const reported = outcome.kind === 'confirmed' ? outcome.reportedUsd : undefined;
      const differs = reported !== undefined && micros(reported) !== attempt.amount_micros;
      if (differs) {
        log.warn(
          `${req.operation}: the provider reported ${String(reported)} for a charge approved at ${usd(approved)}`,
        );
      }
      ({ entry } = await ledger.record(
        {
          time,
          provider: req.provider,
          operation: req.operation,
          amount: approved,
          currency: 'USD',
          reference: outcome.reference,
          replay: (outcome.kind === 'confirmed' && outcome.replay) || reused,
          description: req.what,
          ...(differs ? { reported_amount: reported } : {}),
        },
        { idempotencyKey: attempt.key },
      ));
      if (outcome.kind === 'refunded') {
        await ledger.record(
          {
            time,
            provider: req.provider,
            operation: `${req.operation}.refund`,
            amount: -approved,
            currency: 'USD',
            reference: outcome.reference,
            replay: false,
            description: `refunded by the provider: ${req.what}`,
          },
          { idempotencyKey: `${attempt.key}#refund` },
        );
      }
    }
    return entry;
  };

  return { dir, withConsent };
}

/** What is bought (and, for a standing authorisation, when it is charged) and how it is paid, for the human. */
function described(req: ChargeRequest<unknown>): string[] {
  return [
    `What: ${req.what}.`,
    ...(req.standing ? [`When: ${req.standing.trigger}.`] : []),
    `Paid with: ${req.paymentMethod}.`,
  ];
}

function unknownToken(tool: string): SpendRefusedError {
  return new SpendRefusedError('This confirmation_token is unknown or has expired; nothing was charged.', {
    next: `Call ${tool} again without confirmation_token for a new quote, and show it to the human.`,
  });
}

/** Only a ProviderError with a status is a refusal (src/spend/outcome.ts): its code, else its status. */
function refusalCode(error: unknown): string {
  const { code, status } = error as ProviderError;
  return code ?? `HTTP ${String(status)}`;
}

function safeName(reference: string): string {
  return reference.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 120);
}
