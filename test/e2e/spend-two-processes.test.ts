import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SANDBOX_MODELSLAB_TOKEN,
  startModelslabEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type StripeEmulator,
} from '../../src/sandbox/index.js';
import { startGateProxy, type GateProxy } from '../helpers/gate-proxy.js';
import type { BinSession } from '../helpers/spawn.js';
import {
  callTool,
  killHard,
  newPlace,
  requireTestBin,
  spendFiles,
  startBin,
  tokenOf,
  type Place,
} from '../helpers/spend-bins.js';

/**
 * Issue 15, "Proof asked": two server processes on one ATELIER_HOME (two editor windows), both alive, spending
 * at the same moment. One confirmation token pays once, one day cap holds across both, and a charge left with
 * an unknown outcome by a killed server counts against the cap in the other. The ModelsLab emulator (in this
 * process) is the ground truth of what was charged.
 */

let stripe: StripeEmulator;
let modelslab: ModelslabEmulator;
let gate: GateProxy;
const cards: { visa: string; mastercard: string } = { visa: '', mastercard: '' };

const FUND_PATH = '/api/agents/v1/wallet/fund';
const isFund = (r: { method: string; path: string }) => r.method === 'POST' && r.path === FUND_PATH;

beforeAll(async () => {
  requireTestBin();
  stripe = await startStripeEmulator();
  // Each case makes a few billing requests: lift the per-minute limits, which are not tested here.
  modelslab = await startModelslabEmulator({
    stripe,
    limits: { 'agent-billing': 100_000, 'agent-general': 100_000 },
  });
  gate = await startGateProxy(modelslab.url);
  // Two cards on the account, so that two charges of the same amount are two different purchases.
  const place = await newPlace('atelier-two-cards-');
  let s: BinSession | undefined;
  try {
    s = await startBin(place.env(env()));
    const bin = s;
    const add = async (number: string, make_default: boolean) => {
      const saved = await callTool(bin, 'modelslab_add_payment_method', {
        card: { number, exp_month: 12, exp_year: 2034, cvc: '314' },
        make_default,
      });
      const id = /\((pm_\w+)\)/.exec(saved.text)?.[1];
      if (!id) throw new Error(saved.text);
      return id;
    };
    cards.visa = await add('4242424242424242', true);
    cards.mastercard = await add('5555555555554444', false);
  } finally {
    await s?.close();
    await place.remove();
  }
}, 60_000);

afterAll(async () => {
  await gate?.close();
  await Promise.all([modelslab?.close(), stripe?.close()]);
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    MODELSLAB_BASE_URL: gate.url,
    STRIPE_API_BASE: stripe.url,
    MODELSLAB_TOKEN: SANDBOX_MODELSLAB_TOKEN,
    ATELIER_PROVIDERS: 'modelslab',
    ...extra,
  };
}

/** The emulator's books: the wallet, and one `wallet_fund` entry per successful charge. */
function books() {
  const user = modelslab.accounts.users[0]!;
  return {
    wallet: user.walletUsd,
    charges: user.wallet.filter((w) => w.usecase === 'wallet_fund').length,
    sent: modelslab.requests.filter((r) => isFund(r)).length,
  };
}

const FUNDED = /^Funded the ModelsLab wallet with \$(\d+)\.00 from /;
const ALREADY = /^Already done: this confirmation_token was used/;
const IN_FLIGHT = /being sent right now by another atelier-mcp process/;
const CAP = /^Not charged: \$20\.00 would pass the daily cap ATELIER_MAX_USD_PER_DAY \(\$30\.00\)/;

/** Two live servers on one ATELIER_HOME; if they cannot both start, nothing is left behind. */
async function twoServers(place: Place, extra: Record<string, string> = {}) {
  const e = place.env(env(extra));
  const started = await Promise.allSettled([startBin(e), startBin(e)]);
  const sessions = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    // Both have loaded the SDK and answered once before the race, so that neither starts late.
    await Promise.all(sessions.map((s) => callTool(s, 'spend_report', {})));
    return [sessions[0]!, sessions[1]!] as const;
  } catch (error) {
    await closeAll(...sessions);
    await place.remove();
    throw error;
  }
}

async function closeAll(...sessions: Array<BinSession | undefined>) {
  await Promise.all(sessions.map((s) => s && killHard(s)));
}

describe('two servers on one ATELIER_HOME, racing one confirmation token', () => {
  it('charge once: the other call is told it is done or in flight, never charged', async () => {
    const place = await newPlace('atelier-two-token-');
    const [a, b] = await twoServers(place);
    const answers: string[] = [];
    try {
      for (let round = 0; round < 6; round++) {
        const quote = await callTool(a, 'modelslab_fund_wallet', { amount_usd: 10 });
        const confirmed = { amount_usd: 10, confirmation_token: tokenOf(quote.text) };
        const before = books();
        // Every other round the charge's answer is held a little at the gate, so that the other server surely
        // comes while it is in flight.
        const held = round % 2 === 1 ? gate.arm(isFund, 'answer') : undefined;
        if (held) void held.answered.then(() => sleep(150)).then(() => held.release());
        const both = await Promise.all([
          callTool(a, 'modelslab_fund_wallet', confirmed),
          callTool(b, 'modelslab_fund_wallet', confirmed),
        ]);
        gate.disarm();
        const texts = both.map((r) => r.text);
        answers.push(`round ${round}: ${texts.map(kind).join(' / ')}`);
        const after = books();
        expect(after.charges - before.charges, texts.join('\n---\n')).toBe(1);
        expect(after.wallet - before.wallet, texts.join('\n---\n')).toBe(10);
        // One server charged; the other was told so, or that it is in flight, or got the provider's replay of it.
        const winner = both.findIndex((r) => kind(r.text) === 'funded');
        expect(winner, texts.join('\n---\n')).toBeGreaterThanOrEqual(0);
        const loser = kind(texts[1 - winner]!);
        expect(['already done', 'in flight elsewhere', 'funded (replay)'], texts.join('\n---\n')).toContain(
          loser,
        );
        // Asked again once both are back, each server answers from the token's record.
        for (const s of [a, b]) {
          const again = await callTool(s, 'modelslab_fund_wallet', confirmed);
          expect(again.text).toMatch(ALREADY);
        }
        expect(books().charges - before.charges).toBe(1);
        const { ledger } = await spendFiles(place.spend);
        expect(ledger).toHaveLength(round + 1);
      }
      console.log(`token race:\n${answers.join('\n')}`);
    } finally {
      await closeAll(a, b);
      await place.remove();
    }
  }, 60_000);
});

const kind = (text: string) =>
  FUNDED.test(text)
    ? text.includes('charged once, not twice')
      ? 'funded (replay)'
      : 'funded'
    : ALREADY.test(text)
      ? 'already done'
      : IN_FLIGHT.test(text)
        ? 'in flight elsewhere'
        : CAP.test(text)
          ? 'over the daily cap'
          : `other: ${text.slice(0, 120)}`;

describe('two servers on one ATELIER_HOME under one day cap', () => {
  const CAPS = {
    ATELIER_MAX_USD_PER_DAY: '30',
    ATELIER_MAX_USD_PER_CALL: '30',
    ATELIER_AUTO_APPROVE_USD: '25',
  };

  it('two $20 funds at once under a $30 cap: exactly one is charged, the other refused by the cap', async () => {
    const seen: string[] = [];
    for (let round = 0; round < 4; round++) {
      const place = await newPlace('atelier-two-cap-');
      const [a, b] = await twoServers(place, CAPS);
      try {
        const before = books();
        // Half the rounds hold the first charge's answer at the gate for a moment: the other fund then comes
        // while it is in flight, and the hold must count.
        const held = round % 2 === 1 ? gate.arm(isFund, 'answer') : undefined;
        if (held) void held.answered.then(() => sleep(200)).then(() => held.release());
        const both = await Promise.all([
          callTool(a, 'modelslab_fund_wallet', { amount_usd: 20, payment_method_id: cards.visa }),
          callTool(b, 'modelslab_fund_wallet', { amount_usd: 20, payment_method_id: cards.mastercard }),
        ]);
        gate.disarm();
        const texts = both.map((r) => r.text);
        seen.push(`round ${round}: ${texts.map(kind).join(' / ')}`);
        const all = texts.join('\n---\n');
        expect(
          both.filter((r) => FUNDED.test(r.text)),
          all,
        ).toHaveLength(1);
        expect(
          both.filter((r) => CAP.test(r.text) && r.isError),
          all,
        ).toHaveLength(1);
        const after = books();
        expect(after.charges - before.charges, all).toBe(1);
        expect(after.wallet - before.wallet, all).toBe(20);
        // Only one request left for the emulator: the refused one was never sent.
        expect(after.sent - before.sent, all).toBe(1);
        const { ledger } = await spendFiles(place.spend);
        expect(ledger, all).toHaveLength(1);
        expect(ledger[0]).toMatchObject({ amount: 20 });
      } finally {
        await closeAll(a, b);
        await place.remove();
      }
    }
    console.log(`cap race (two cards):\n${seen.join('\n')}`);
  }, 60_000);

  it('the same $20 fund from both at once under a $30 cap: charged once, the other refused', async () => {
    const seen: string[] = [];
    for (let round = 0; round < 2; round++) {
      const place = await newPlace('atelier-two-cap-same-');
      const [a, b] = await twoServers(place, CAPS);
      try {
        const before = books();
        const held = round === 1 ? gate.arm(isFund, 'answer') : undefined;
        if (held) void held.answered.then(() => sleep(200)).then(() => held.release());
        const args = { amount_usd: 20, payment_method_id: cards.visa };
        const both = await Promise.all([
          callTool(a, 'modelslab_fund_wallet', args),
          callTool(b, 'modelslab_fund_wallet', args),
        ]);
        gate.disarm();
        const texts = both.map((r) => r.text);
        seen.push(`round ${round}: ${texts.map(kind).join(' / ')}`);
        const all = texts.join('\n---\n');
        expect(
          both.filter((r) => FUNDED.test(r.text)),
          all,
        ).toHaveLength(1);
        // Refused before anything was sent: by the cap, or because the identical charge is in flight elsewhere.
        const other = both.find((r) => !FUNDED.test(r.text))!;
        expect(other.isError, all).toBe(true);
        expect(CAP.test(other.text) || IN_FLIGHT.test(other.text), all).toBe(true);
        const after = books();
        expect(after.charges - before.charges, all).toBe(1);
        expect(after.wallet - before.wallet, all).toBe(20);
        expect((await spendFiles(place.spend)).ledger, all).toHaveLength(1);
      } finally {
        await closeAll(a, b);
        await place.remove();
      }
    }
    console.log(`cap race (same card):\n${seen.join('\n')}`);
  }, 60_000);

  it('a fund left unknown by a killed server holds the cap in the other until it is settled', async () => {
    const place = await newPlace('atelier-two-killed-');
    const [a, b] = await twoServers(place, CAPS);
    try {
      const before = books();
      // ModelsLab charges A's fund and its answer never comes; A is killed while it waits.
      modelslab.billing.hold(FUND_PATH);
      const first = callTool(a, 'modelslab_fund_wallet', { amount_usd: 20, payment_method_id: cards.visa });
      first.catch(() => undefined);
      while (books().charges === before.charges) await sleep(5);
      await killHard(a);
      expect(books().wallet - before.wallet).toBe(20);

      // B, alive all along: a different $20 would pass the cap with A's $20 of unknown outcome.
      const refused = await callTool(b, 'modelslab_fund_wallet', {
        amount_usd: 20,
        payment_method_id: cards.mastercard,
      });
      expect(refused.isError).toBe(true);
      expect(refused.text).toMatch(CAP);
      expect(refused.text).toMatch(/\$20\.00 held by payments in progress or with an unknown outcome/);
      const report = await callTool(b, 'spend_report', {});
      expect(report.text).toMatch(/\$20\.00/);
      expect(report.text).toMatch(/outcome unknown/);
      expect(books().charges - before.charges).toBe(1);

      // B makes A's call again: the same key goes out, ModelsLab replays, nothing more is charged.
      const settled = await callTool(b, 'modelslab_fund_wallet', {
        amount_usd: 20,
        payment_method_id: cards.visa,
      });
      expect(settled.text).toMatch(FUNDED);
      expect(settled.text).toContain('charged once, not twice');
      expect(books().charges - before.charges).toBe(1);
      expect(books().wallet - before.wallet).toBe(20);
      // Settled, A's fund is spent money now: the other $20 is still over the cap.
      const still = await callTool(b, 'modelslab_fund_wallet', {
        amount_usd: 20,
        payment_method_id: cards.mastercard,
      });
      expect(still.text).toMatch(CAP);
      expect(still.text).toMatch(/\$20\.00 spent today/);
      const { ledger } = await spendFiles(place.spend);
      expect(ledger).toHaveLength(1);
      expect(ledger[0]).toMatchObject({ amount: 20, replay: true });
      expect(books().charges - before.charges).toBe(1);
    } finally {
      await closeAll(a, b);
      await place.remove();
    }
  }, 60_000);
});
