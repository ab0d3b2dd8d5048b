import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Fault } from '../../src/sandbox/index.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

// Every outcome class of the one charge door, for each ModelsLab money tool, against the emulator's books.
// A class is what the provider's answer says about the charge: confirmed, refused, not processed, or nothing
// at all (unknown). The call is then made again with the same token: whatever happened, one charge at most.
// (408 and 429, "not processed", are walked in test/spend/outcomes.test.ts: ModelsLab's client rides them out.)

let h: Harness;
afterEach(async () => h?.close());

const tokenOf = (text: string) => {
  const m = /^confirmation_token: (ct_\S+)$/m.exec(text);
  expect(m, text).not.toBeNull();
  return m![1]!;
};
const ledger = async () =>
  (await readFile(join(h.home, 'spend', 'ledger.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const succeeded = () => h.modelslab.billing.intents().filter((i) => i.status === 'succeeded');
const held = async () => Number(/, \$(\d+\.\d\d) held/.exec(textOf(await h.call('spend_report')))?.[1] ?? 0);

interface Operation {
  name: string;
  tool: string;
  args: Record<string, unknown>;
  amount: number;
  method: string;
  path: () => RegExp;
  /** What a confirmed charge says. */
  done: RegExp;
  prepare(): Promise<void>;
}

const addCard = async () => {
  await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_card_visa' });
};
let subscriptionId = '';

const OPERATIONS: Operation[] = [
  {
    name: 'fund',
    tool: 'modelslab_fund_wallet',
    args: { amount_usd: 25 },
    amount: 25,
    method: 'POST',
    path: () => /^\/api\/agents\/v1\/wallet\/fund$/,
    done: /^Funded the ModelsLab wallet with \$25\.00/,
    prepare: addCard,
  },
  {
    name: 'subscribe',
    tool: 'modelslab_subscribe',
    args: { plan_id: 20 },
    amount: 9,
    method: 'POST',
    path: () => /^\/api\/agents\/v1\/subscriptions$/,
    done: /^Subscribed to Imagen Starter for \$9\.00/,
    prepare: addCard,
  },
  {
    name: 'change plan',
    tool: 'modelslab_manage_subscription',
    args: { action: 'change_plan', new_plan_id: 21 },
    amount: 19,
    method: 'PUT',
    path: () => new RegExp(`^/api/agents/v1/subscriptions/${subscriptionId}$`),
    done: /^Changed to /,
    async prepare() {
      await addCard();
      const quote = textOf(await h.call('modelslab_subscribe', { plan_id: 20 }));
      const done = textOf(
        await h.call('modelslab_subscribe', { plan_id: 20, confirmation_token: tokenOf(quote) }),
      );
      subscriptionId = /Subscription (\d+)/.exec(done)![1]!;
    },
  },
];

interface OutcomeClass {
  name: string;
  fault: (op: Operation) => Fault;
  /** How the first call's result reads. */
  first: RegExp;
  /** After the first call: charges the emulator made, and what is held against the cap. */
  charged: number;
  held: boolean;
  /** What the same call with the same token does next. */
  then: 'done' | 'refused' | 'done, charged once';
}

const lies = (answerInstead: Fault['answerInstead']) => (op: Operation) => ({
  method: op.method,
  path: op.path(),
  answerInstead,
});

const CLASSES: OutcomeClass[] = [
  {
    name: 'a 200 with an HTML page after charging',
    fault: lies({ status: 200, body: '<html><body>OK</body></html>' }),
    first: /^OUTCOME UNKNOWN: ModelsLab answered .* with HTTP 200 and a non-JSON body/,
    charged: 1,
    held: true,
    then: 'done, charged once',
  },
  {
    name: 'a 200 with data: null after charging',
    fault: lies({ status: 200, body: { data: null, error: null } }),
    first: /^OUTCOME UNKNOWN: .*HTTP 200 and data: null/,
    charged: 1,
    held: true,
    then: 'done, charged once',
  },
  {
    name: 'a 302 redirect after charging',
    fault: lies({ status: 302, headers: { Location: '/login' } }),
    first: /^OUTCOME UNKNOWN: .*HTTP 302/,
    charged: 1,
    held: true,
    then: 'done, charged once',
  },
  {
    name: 'a 307 redirect back to the same path after charging',
    fault: (op) => lies({ status: 307, headers: { Location: op.path().source } })(op),
    first: /^OUTCOME UNKNOWN: .*HTTP 307/,
    charged: 1,
    held: true,
    then: 'done, charged once',
  },
  {
    name: 'a 5xx on every attempt, before anything was charged',
    // Four attempts: the request and the HTTP layer's three retries with the same key.
    fault: (op) => ({ method: op.method, path: op.path(), status: 503, times: 4 }),
    first: /^ModelsLab failed: .*HTTP 503[\s\S]*OUTCOME UNKNOWN/,
    charged: 0,
    held: true,
    then: 'done',
  },
  {
    name: 'a dropped connection on every attempt',
    fault: (op) => ({ method: op.method, path: op.path(), dropConnection: true, times: 4 }),
    first: /OUTCOME UNKNOWN/,
    charged: 0,
    held: true,
    then: 'done',
  },
  {
    name: 'a 4xx refusal',
    fault: (op) => ({ method: op.method, path: op.path(), status: 422 }),
    first: /^ModelsLab refused the request: .*HTTP 422/,
    charged: 0,
    held: false,
    then: 'refused',
  },
];

describe.each(OPERATIONS)('the charge door for $name', (op) => {
  it('books a confirmed charge once, at the approved amount', async () => {
    h = await startHarness();
    await op.prepare();
    const before = { charges: succeeded().length, lines: (await ledger()).length };
    const quote = textOf(await h.call(op.tool, op.args));
    const done = textOf(await h.call(op.tool, { ...op.args, confirmation_token: tokenOf(quote) }));
    expect(done).toMatch(op.done);
    expect(succeeded().length - before.charges).toBe(1);
    const lines = (await ledger()).slice(before.lines);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ amount: op.amount, replay: false });
    expect(await held()).toBe(0);
  });

  it.each(CLASSES)('after $name: held while unknown, and never a second charge', async (c) => {
    h = await startHarness();
    await op.prepare();
    const before = { charges: succeeded().length, lines: (await ledger()).length };
    const token = tokenOf(textOf(await h.call(op.tool, op.args)));
    h.modelslab.inject(c.fault(op));
    const first = await h.call(op.tool, { ...op.args, confirmation_token: token });
    expect(first.isError).toBe(true);
    expect(textOf(first)).toMatch(c.first);
    expect(succeeded().length - before.charges).toBe(c.charged);
    expect((await ledger()).length - before.lines).toBe(0);
    expect(await held()).toBe(c.held ? op.amount : 0);

    const second = await h.call(op.tool, { ...op.args, confirmation_token: token });
    if (c.then === 'refused') {
      expect(textOf(second)).toMatch(/already used and the provider refused that charge/);
      expect(succeeded().length - before.charges).toBe(0);
      return;
    }
    expect(textOf(second)).toMatch(op.done);
    if (c.then === 'done, charged once') expect(textOf(second)).toContain('charged once, not twice');
    expect(succeeded().length - before.charges).toBe(1);
    const lines = (await ledger()).slice(before.lines);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ amount: op.amount });
    expect(await held()).toBe(0);
    // And the token is spent now.
    expect(textOf(await h.call(op.tool, { ...op.args, confirmation_token: token }))).toMatch(/^Already done/);
    expect(succeeded().length - before.charges).toBe(1);
  });
});

describe('3-D Secure through the charge door', () => {
  const NEEDS_3DS = { number: '4000002760003184', exp_month: 12, exp_year: 2034, cvc: '731' };

  it.each([
    ['succeeds', true],
    ['fails', false],
  ])('holds the payment until it %s, then books it only if it succeeded', async (_, succeeds) => {
    h = await startHarness({ config: { maxUsdPerDay: 40, maxUsdPerCall: 40 } });
    await h.call('modelslab_add_payment_method', { card: NEEDS_3DS });
    const quote = textOf(await h.call('modelslab_fund_wallet', { amount_usd: 25 }));
    const waiting = textOf(
      await h.call('modelslab_fund_wallet', { amount_usd: 25, confirmation_token: tokenOf(quote) }),
    );
    expect(waiting).toMatch(/^NOT CHARGED YET: the card needs 3-D Secure/);
    const pi = /payment_intent_id: (pi_\w+)/.exec(waiting)![1]!;
    expect(await held()).toBe(25);
    const refused = await h.call('modelslab_fund_wallet', { amount_usd: 20 });
    expect(textOf(refused)).toMatch(/daily cap/);

    if (succeeds) h.modelslab.billing.authenticate(pi);
    else h.modelslab.billing.failAuthentication(pi);
    const status = textOf(await h.call('modelslab_payment_status', { payment_intent_id: pi }));
    expect(status).toMatch(
      succeeds ? /succeeded[\s\S]*Recorded in the local ledger/ : /failed[\s\S]*nothing was charged/,
    );
    expect(await ledger()).toHaveLength(succeeds ? 1 : 0);
    expect(await held()).toBe(0);
    const report = textOf(await h.call('spend_report'));
    expect(report).toMatch(
      succeeds ? /Spend today \([\d-]+ UTC\): \$25\.00/ : /Spend today \([\d-]+ UTC\): \$0\.00/,
    );
  });
});
