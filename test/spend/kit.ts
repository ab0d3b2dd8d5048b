import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import type { AtelierError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { spendDir } from '../../src/spend/home.js';
import {
  openSpendBook,
  type ChargeAttempt,
  type ChargeOutcome,
  type ChargeRequest,
  type Consent,
  type ConsentAnswer,
  type SpendResult,
} from '../../src/spend/index.js';

/** Shared pieces of the tests that go through the spend door, `openSpendBook(...).withConsent(...)`. */

export const configWith = (home: string, over: Partial<Config> = {}): Config => ({
  ...loadConfig({}, {}, home),
  home,
  ...over,
});

export const noHuman: Consent = {
  canAsk: () => false,
  ask: () => Promise.reject(new Error('no human here')),
  canOpenUrl: () => false,
  openUrl: () => Promise.reject(new Error('no human here')),
};

export function humanSays(answer: ConsentAnswer, asked: string[] = []): Consent {
  return {
    ...noHuman,
    canAsk: () => true,
    ask: async (message) => {
      asked.push(message);
      return answer;
    },
  };
}

/** A logger that keeps what it is told, as `level: message`. */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** The door as a fresh process over the same home would open it. */
export function door(
  config: Config,
  opts: { now?: () => number; log?: Logger; consent?: Consent; lockTimeoutMs?: number } = {},
) {
  return openSpendBook(config, opts.log ?? recordingLogger(), {
    now: opts.now,
    lockTimeoutMs: opts.lockTimeoutMs,
  }).withConsent(opts.consent ?? noHuman);
}

/** A provider that charges once per new key and replays a key it has seen; `answer` decides what comes back. */
export function provider() {
  const charged = new Map<string, string>();
  const sent: Array<{ key: string; attempt: ChargeAttempt }> = [];
  let answer: (key: string) => 'ok' | Error = () => 'ok';
  return {
    sent,
    charged,
    answer(fn: (key: string) => 'ok' | Error) {
      answer = fn;
    },
    send(over: Partial<ChargeOutcome<string>> = {}) {
      return async (key: string, attempt: ChargeAttempt): Promise<ChargeOutcome<string>> => {
        sent.push({ key, attempt });
        const what = answer(key);
        if (what instanceof Error) throw what;
        const replay = charged.has(key);
        if (!replay) charged.set(key, `pi_${charged.size + 1}`);
        return {
          kind: 'confirmed',
          reference: charged.get(key)!,
          replay,
          value: 'ok',
          ...over,
        } as ChargeOutcome<string>;
      };
    },
  };
}

export function fund(
  amountUsd: number,
  send: ChargeRequest<string>['send'],
  opts: { token?: string; args?: Record<string, unknown> } = {},
): ChargeRequest<string> {
  return {
    provider: 'modelslab',
    operation: 'modelslab.wallet.fund',
    tool: 'modelslab_fund_wallet',
    amountUsd,
    args: opts.args ?? { amount_usd: amountUsd },
    what: `add $${amountUsd} to the wallet`,
    paymentMethod: 'Visa •••• 4242',
    confirmationToken: opts.token,
    send,
  };
}

export function tokenOf(result: SpendResult<unknown>): string {
  expect(result.status).toBe('quote');
  return (result as { token: string }).token;
}

export const ledgerPath = (config: Config) => join(spendDir(config), 'ledger.jsonl');

export const ledgerLines = async (config: Config) =>
  ((await readFile(ledgerPath(config), 'utf8').catch(() => '')) as string)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Where a confirmation token's record is kept (under the digest of the token). */
export const tokenFile = (config: Config, token: string) =>
  join(spendDir(config), 'confirmations', `${createHash('sha256').update(token).digest('hex')}.json`);

export const keyDigest = (key: string) => createHash('sha256').update(key).digest('hex').slice(0, 32);

/** What a live process that is not this one (pid 1, with its real start time) writes as an owner. */
export async function liveOtherOwner(): Promise<string> {
  const stat = await readFile('/proc/1/stat', 'utf8');
  return `1/${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}/abcdef`;
}

export const HOUR = 60 * 60 * 1000;

/** The error a call ends with; a call that succeeds fails the test. */
export const failure = (call: Promise<unknown>) =>
  call.then(
    () => expect.fail('expected a failure'),
    (e: unknown) => e as AtelierError,
  );

/**
 * Removes a test's home. A key is released after `once` returns (its `settled`): a test that does not wait for it
 * may still be writing there, so the removal retries instead of failing with ENOTEMPTY.
 */
export const removeHome = (home: string) =>
  rm(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
