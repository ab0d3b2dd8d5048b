import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SANDBOX_MODELSLAB_TOKEN,
  SANDBOX_PAYMENT_METHOD,
  SANDBOX_STRIPE_KEY,
  startModelslabEmulator,
  startPixelmuseEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type PixelmuseEmulator,
  type StripeEmulator,
} from '../../src/sandbox/index.js';
import { startGateProxy, type Gate, type GateMatch, type GateProxy } from '../helpers/gate-proxy.js';
import {
  callTool,
  describeFiles,
  killHard,
  newPlace,
  onStderrLine,
  requireTestBin,
  spendFiles,
  startBin,
  tokenOf,
  type Answer,
  type Place,
} from '../helpers/spend-bins.js';
import type { BinSession } from '../helpers/spawn.js';

/**
 * Issue 15, "Proof asked": a server killed with SIGKILL at many points of a confirmed payment, then started
 * again on the same ATELIER_HOME and asked the same thing (same arguments, same confirmation_token), charges
 * exactly once. The emulators live in this process, so their books (the ModelsLab wallet and its charges, the
 * Stripe emulator's SPTs and PaymentIntents) are the ground truth and outlive every killed server. A gate proxy
 * between the server and each emulator stops the paying request before or after the emulator handled it and
 * lets its answer go at a chosen moment. Each kill point is its own case, on a fresh ATELIER_HOME; the
 * emulators are shared and each case counts what changed in their books.
 */

let stripe: StripeEmulator;
let modelslab: ModelslabEmulator;
let pixelmuse: PixelmuseEmulator;
let mlGate: GateProxy;
let pmGate: GateProxy;
let stripeGate: GateProxy;

const VISA = { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '7319' };
const SWEEP_MS = [0, 1, 2, 3, 5, 8, 13, 21, 34];
const FUND_PATH = '/api/agents/v1/wallet/fund';

/** One line per case, printed at the end: where it was killed, what was on disk, how the restart answered. */
const seen: string[] = [];

beforeAll(async () => {
  requireTestBin();
  stripe = await startStripeEmulator();
  [modelslab, pixelmuse] = await Promise.all([
    // Every case makes a few billing requests: lift the per-minute limits, which are not tested here.
    startModelslabEmulator({ stripe, limits: { 'agent-billing': 100_000, 'agent-general': 100_000 } }),
    startPixelmuseEmulator({
      jobDelayMs: 0,
      rateLimitPerMinute: 100_000,
      mpp: { stripe: stripe.book, perMinute: 100_000 },
    }),
  ]);
  [mlGate, pmGate, stripeGate] = await Promise.all([
    startGateProxy(modelslab.url),
    startGateProxy(pixelmuse.url),
    startGateProxy(stripe.url),
  ]);
  // The card every fund charges: saved once on the emulator's account, through a real server.
  const place = await newPlace('atelier-crash-card-');
  let s: BinSession | undefined;
  try {
    s = await startBin(place.env(modelslabEnv()));
    const saved = await callTool(s, 'modelslab_add_payment_method', { card: VISA });
    expect(saved.text).toMatch(/^Saved Visa •••• 4242 \(pm_\w+\) as the default card/);
  } finally {
    await s?.close();
    await place.remove();
  }
}, 60_000);

afterAll(async () => {
  if (seen.length) {
    console.log(
      `spend-crash cases:\n${seen.sort().join('\n')}\nrestart outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`,
    );
  }
  await Promise.all([mlGate?.close(), pmGate?.close(), stripeGate?.close()]);
  await Promise.all([modelslab?.close(), pixelmuse?.close(), stripe?.close()]);
});

function modelslabEnv(): Record<string, string> {
  return {
    MODELSLAB_BASE_URL: mlGate.url,
    STRIPE_API_BASE: stripe.url,
    MODELSLAB_TOKEN: SANDBOX_MODELSLAB_TOKEN,
    ATELIER_PROVIDERS: 'modelslab',
  };
}

/** What a flow charges, how its books are counted, and how its success reads. */
interface Flow {
  name: string;
  tool: string;
  args: Record<string, unknown>;
  amountUsd: number;
  env(): Record<string, string>;
  /** The request that moves the money, at its gate. */
  gate(): GateProxy;
  paid: GateMatch;
  /** Charges in the emulator's books so far, the money they moved, and the last one's reference. */
  books(): { charges: number; usd: number; extra: string; reference?: string };
  ok: RegExp;
  /** The emulator answers the next paying request with this status, without handling it. */
  refuseNext(status: number): void;
  /** Log lines (ATELIER_LOG_LEVEL=debug) worth dying on. */
  lines: Array<[string, RegExp]>;
}

const ML: Flow = {
  name: 'ModelsLab wallet fund',
  tool: 'modelslab_fund_wallet',
  args: { amount_usd: 10 },
  amountUsd: 10,
  env: modelslabEnv,
  gate: () => mlGate,
  paid: (r) => r.method === 'POST' && r.path === FUND_PATH,
  books() {
    const user = modelslab.accounts.users[0]!;
    const funds = user.wallet.filter((w) => w.usecase === 'wallet_fund');
    return { charges: funds.length, usd: user.walletUsd, extra: `wallet $${user.walletUsd.toFixed(2)}` };
  },
  refuseNext: (status) =>
    modelslab.inject({ method: 'POST', path: FUND_PATH, status, headers: { 'Retry-After': '60' } }),
  ok: /^Funded the ModelsLab wallet with \$10\.00 from Visa •••• 4242/,
  lines: [
    ['log: fund answer read', /modelslab POST \/api\/agents\/v1\/wallet\/fund -> 200/],
    ['log: tool done', /modelslab_fund_wallet ok in/],
  ],
};

const MPP: Flow = {
  name: 'MPP image payment',
  tool: 'generate_image',
  // No inline preview: the image is still made and saved, without the resize this test does not need.
  args: { prompt: 'a lighthouse at dusk', payment: 'mpp', preview: false },
  amountUsd: 0.1,
  env: () => ({
    PIXELMUSE_BASE_URL: pmGate.url,
    STRIPE_API_BASE: stripeGate.url,
    ATELIER_STRIPE_SECRET_KEY: SANDBOX_STRIPE_KEY,
    ATELIER_MPP_PAYMENT_METHOD: SANDBOX_PAYMENT_METHOD,
    ATELIER_PROVIDERS: 'pixelmuse',
  }),
  gate: () => pmGate,
  paid: (r) =>
    r.method === 'POST' &&
    r.path === '/api/v1/images/generate' &&
    String(r.headers.authorization ?? '').startsWith('Payment '),
  books() {
    const intents = [...stripe.book.paymentIntents.values()].filter(
      (p) => p.status === 'succeeded' && !p.refunded,
    );
    const tokens = [...stripe.book.tokens.values()];
    const consumed = tokens.filter((t) => t.deactivated_reason === 'consumed').length;
    return {
      charges: intents.length,
      usd: intents.reduce((sum, p) => sum + p.amount, 0) / 100,
      extra: `${consumed} SPT consumed of ${tokens.length} minted`,
      reference: intents.at(-1)?.id,
    };
  },
  refuseNext: (status) =>
    pixelmuse.inject({
      method: 'POST',
      path: '/api/v1/images/generate',
      status,
      headers: { 'Retry-After': '60' },
    }),
  ok: /Paid \$0\.10 with MPP \(receipt pi_test_\w+/,
  lines: [
    ['log: SPT minted', /stripe POST \/v1\/test_helpers\/shared_payment\/granted_tokens -> 200/],
    ['log: paid answer read', /pixelmuse POST \/api\/v1\/images\/generate -> 201/],
    ['log: tool done', /generate_image ok in/],
  ],
};

const consumedSpts = () =>
  [...stripe.book.tokens.values()].filter((t) => t.deactivated_reason === 'consumed').length;

/** Where to die: `arm` prepares, before the confirmed call starts; its promise settles at the kill moment. */
interface KillPoint {
  name: string;
  arm(c: { flow: Flow; bin: BinSession; place: Place }): Promise<{ fired: Promise<unknown>; stop(): void }>;
  /** Between the kill and the restart: what the emulator will do to the request sent again. */
  afterKill?(flow: Flow): void;
  /**
   * The call that settles an unknown outcome comes from a new server process: a 429's Retry-After (60 s) keeps
   * the one that met it from sending for a minute, as it should.
   */
  settleElsewhere?: boolean;
}

const atGate = (
  name: string,
  proxy: (f: Flow) => GateProxy,
  match: (f: Flow) => GateMatch,
  hold: 'request' | 'answer',
  then: (g: Gate) => Promise<unknown> = (g) => (hold === 'request' ? g.arrived : g.answered),
): KillPoint => ({
  name,
  async arm({ flow }) {
    const gate = proxy(flow).arm(match(flow), hold);
    return { fired: then(gate), stop: () => proxy(flow).disarm() };
  },
});

const released = (ms: number): KillPoint =>
  atGate(
    `answer released, +${ms} ms`,
    (f) => f.gate(),
    (f) => f.paid,
    'answer',
    async (g) => {
      await g.answered;
      await g.release();
      if (ms > 0) await sleep(ms);
    },
  );

const onLog = (name: string, line: RegExp): KillPoint => ({
  name,
  async arm({ bin }) {
    let fire!: () => void;
    const fired = new Promise<void>((r) => (fire = r));
    const stop = onStderrLine(bin, (l) => {
      if (line.test(l)) fire();
    });
    return { fired, stop };
  },
});

/**
 * A file event under ATELIER_HOME/spend: the hold (attempt) written or removed, the ledger line appended, the
 * token's record rewritten. The kill follows the event as soon as this process hears of it.
 */
const onFile = (
  name: string,
  when: (e: { where: 'ledger' | 'hold' | 'token'; count: number; afterLedger: boolean }) => boolean,
): KillPoint => ({
  name,
  async arm({ place }) {
    const dirs = { hold: join(place.spend, 'idempotency'), token: join(place.spend, 'confirmations') };
    await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
    let fire!: () => void;
    const fired = new Promise<void>((r) => (fire = r));
    const counts = { ledger: 0, hold: 0, token: 0 };
    let afterLedger = false;
    const event = (where: 'ledger' | 'hold' | 'token') => {
      counts[where] += 1;
      if (when({ where, count: counts[where], afterLedger })) fire();
      if (where === 'ledger') afterLedger = true;
    };
    const watchers: FSWatcher[] = [
      watch(place.spend, (_e, file) => file === 'ledger.jsonl' && event('ledger')),
      watch(
        dirs.hold,
        (e, file) => e === 'rename' && file?.endsWith('.json') && !file.startsWith('.') && event('hold'),
      ),
      watch(
        dirs.token,
        (e, file) => e === 'rename' && file?.endsWith('.json') && !file.startsWith('.') && event('token'),
      ),
    ];
    return { fired, stop: () => watchers.forEach((w) => w.close()) };
  },
});

const COMMON: KillPoint[] = [
  atGate(
    'paying request held before the emulator',
    (f) => f.gate(),
    (f) => f.paid,
    'request',
  ),
  atGate(
    'answer held after the charge',
    (f) => f.gate(),
    (f) => f.paid,
    'answer',
  ),
  {
    // The request sent again after the restart is turned away with a 429 ("not processed"): that says
    // nothing of the first send, which charged. The outcome stays unknown; the next call settles it.
    ...atGate(
      'answer held after the charge, resend meets a 429',
      (f) => f.gate(),
      (f) => f.paid,
      'answer',
    ),
    afterKill: (flow) => flow.refuseNext(429),
    settleElsewhere: true,
  },
  ...SWEEP_MS.map(released),
  onFile('file: hold written', (e) => e.where === 'hold' && e.count === 1),
  onFile('file: ledger line', (e) => e.where === 'ledger'),
  onFile('file: token reference', (e) => e.where === 'token' && e.afterLedger),
  onFile('file: hold removed', (e) => e.where === 'hold' && e.afterLedger),
];

const ML_POINTS: KillPoint[] = [
  {
    // The emulator's own hold: the charge is made and its answer never leaves the emulator.
    name: 'emulator hold (billing.hold) after the charge',
    async arm() {
      const before = ML.books().charges;
      modelslab.billing.hold(FUND_PATH);
      let stopped = false;
      const fired = (async () => {
        while (!stopped && ML.books().charges === before) await sleep(2);
      })();
      return { fired, stop: () => (stopped = true) };
    },
  },
  ...COMMON,
  ...ML.lines.map(([name, line]) => onLog(name, line)),
];

const MPP_POINTS: KillPoint[] = [
  atGate(
    'SPT mint held before Stripe',
    () => stripeGate,
    () => isMint,
    'request',
  ),
  atGate(
    'SPT minted, its answer held',
    () => stripeGate,
    () => isMint,
    'answer',
  ),
  ...COMMON,
  onFile('file: credential kept with the hold', (e) => e.where === 'hold' && e.count === 2),
  ...MPP.lines.map(([name, line]) => onLog(name, line)),
];

const isMint: GateMatch = (r) => r.method === 'POST' && r.path.includes('/shared_payment/');

const outcomes = new Map<string, number>();

/**
 * One case: quote, confirm, die at the point; start again on the same home and make the same call, once more if
 * it says OUTCOME UNKNOWN. Exactly one charge in the emulator's books and one ledger line, whatever happened.
 */
async function crashCase(flow: Flow, point: KillPoint): Promise<void> {
  const place = await newPlace('atelier-crash-');
  const env = place.env(flow.env());
  let first: BinSession | undefined;
  let second: BinSession | undefined;
  try {
    first = await startBin(env);
    const quote = await callTool(first, flow.tool, flow.args);
    expect(quote.text, quote.text).toMatch(/Not charged yet/);
    const confirmed = { ...flow.args, confirmation_token: tokenOf(quote.text) };
    const before = flow.books();
    const beforeSpts = consumedSpts();

    const { fired, stop } = await point.arm({ flow, bin: first, place });
    let finished: Answer | Error | undefined;
    const call = callTool(first, flow.tool, confirmed).then(
      (a) => (finished = a),
      (e: unknown) => (finished = e instanceof Error ? e : new Error(String(e))),
    );
    // A call that ends before its point comes (a log line it never writes) is killed when it ends.
    await Promise.race([fired, call]);
    const endedBeforeKill = finished;
    await killHard(first);
    stop();
    point.afterKill?.(flow);
    const atKill = describeFiles(await spendFiles(place.spend));
    const chargedAtKill = flow.books().charges - before.charges;

    second = await startBin(env);
    const answers: string[] = [];
    let answer = await callTool(second, flow.tool, confirmed);
    answers.push(answer.text);
    let how = classify(flow, answer);
    if (how === 'unknown') {
      if (point.settleElsewhere) {
        await second.close();
        second = await startBin(env);
      }
      answer = await callTool(second, flow.tool, confirmed);
      answers.push(answer.text);
      how = `unknown, then ${classify(flow, answer)}`;
    }
    const context = `${flow.name} / ${point.name}:\n${answers.join('\n---\n')}`;
    expect(['done', 'already done', 'unknown, then done', 'unknown, then already done'], context).toContain(
      how,
    );
    // Booked, but the image never saved: its kept credential, resent with its key, brings the paid answer back.
    if (flow === MPP && how === 'already done' && /ledger 1, hold\+credential/.test(atKill)) {
      expect(answers[0], context).toContain('Pixelmuse replayed the paid answer');
      expect(answers[0], context).toMatch(/^- \/\S+\.png /m);
    }
    // Made again once settled, the same call charges nothing.
    const again = await callTool(second, flow.tool, confirmed);
    expect(again.text, context).toMatch(/^Already done/);
    expect(again.text, context).not.toContain('replayed the paid answer');

    const after = flow.books();
    expect(after.charges - before.charges, `${context}\n${after.extra}`).toBe(1);
    expect(after.usd - before.usd, after.extra).toBeCloseTo(flow.amountUsd, 6);
    if (flow === MPP) expect(consumedSpts() - beforeSpts, after.extra).toBe(1);
    const files = await spendFiles(place.spend);
    expect(files.ledger, context).toHaveLength(1);
    const [line] = files.ledger;
    expect(line).toMatchObject({ amount: flow.amountUsd, currency: 'USD' });
    expect(String(line!.reference)).toMatch(/^pi_/);
    if (after.reference) expect(line!.reference).toBe(after.reference);
    const report = await callTool(second, 'spend_report', {});
    expect(report.text.split(String(line!.reference)).length - 1, report.text).toBe(1);

    // Settled for good. Where the restart found the charge already booked (the kill came after the ledger
    // line), what the killed server left must not swallow a new approval of the same purchase: it is a new
    // charge, not a replay of the old one. (A restart that sent the charge itself released its hold.)
    if (how.endsWith('already done')) {
      const nextQuote = await callTool(second, flow.tool, flow.args);
      const next = await callTool(second, flow.tool, {
        ...flow.args,
        confirmation_token: tokenOf(nextQuote.text),
      });
      const note = `${context}\n--- a new approval:\n${next.text}`;
      expect(next.text, note).toMatch(flow.ok);
      expect(flow.books().charges - before.charges, note).toBe(2);
      const settled = await spendFiles(place.spend);
      expect(settled.ledger, note).toHaveLength(2);
      expect(settled.ledger[1]!.reference, note).not.toBe(line!.reference);
    }
    const left = await spendFiles(place.spend);
    expect(
      left.holds.filter((h) => typeof h.amount_micros === 'number'),
      context,
    ).toHaveLength(0);

    const finishedFirst =
      endedBeforeKill === undefined
        ? ''
        : endedBeforeKill instanceof Error
          ? ` (first call failed: ${endedBeforeKill.message.slice(0, 80)})`
          : ' (first call had ended)';
    outcomes.set(how, (outcomes.get(how) ?? 0) + 1);
    seen.push(
      `${flow.name.padEnd(21)} | ${point.name.padEnd(44)} | at kill: ${chargedAtKill} charged, ${atKill}${finishedFirst} | restart: ${how}`,
    );
  } finally {
    if (first) await killHard(first);
    if (second) await second.close().catch(() => undefined);
    await place.remove();
  }
}

function classify(flow: Flow, a: Answer): string {
  if (/^Already done/.test(a.text)) return 'already done';
  if (/OUTCOME UNKNOWN/.test(a.text)) return 'unknown';
  if (!a.isError && flow.ok.test(a.text)) return 'done';
  return `unexpected: ${a.text.slice(0, 300)}`;
}

/**
 * The two flows use separate emulators and gates, so they run side by side: every case is its own test, and a
 * lane per flow keeps that flow's cases one at a time (its books are counted by deltas).
 */
const lanes = new Map<Flow, Promise<unknown>>();
function inLane(flow: Flow, work: () => Promise<void>): Promise<void> {
  const run = (lanes.get(flow) ?? Promise.resolve()).then(work, work);
  lanes.set(
    flow,
    run.catch(() => undefined),
  );
  return run;
}

const CASES: Array<[Flow, KillPoint]> = [];
for (let i = 0; i < Math.max(ML_POINTS.length, MPP_POINTS.length); i++) {
  if (ML_POINTS[i]) CASES.push([ML, ML_POINTS[i]!]);
  if (MPP_POINTS[i]) CASES.push([MPP, MPP_POINTS[i]!]);
}

describe.concurrent('a server killed while it pays, started again and asked the same, charges once', () => {
  for (const [flow, point] of CASES) {
    it(`${flow.name}: ${point.name}`, () => inLane(flow, () => crashCase(flow, point)), 90_000);
  }
});
