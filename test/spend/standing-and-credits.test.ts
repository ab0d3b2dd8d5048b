import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NetworkError, OutcomeUnknownError, SpendRefusedError } from '../../src/errors.js';
import { spendDir } from '../../src/spend/home.js';
import type { ChargeOutcome, ChargeRequest } from '../../src/spend/index.js';
import {
  configWith,
  door,
  failure,
  fund,
  humanSays,
  ledgerLines,
  ledgerPath,
  provider,
  tokenOf,
  removeHome,
} from './kit.js';

// Auto-funding is a standing authorisation (nothing charged now; consent with the amount and the trigger; the
// per-call cap only), and a redeemed coupon is a ledger credit (charges nothing; counted in no cap).

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'atelier-standing-'));
});
afterEach(async () => {
  await removeHome(home);
});

const authorized =
  (reference = 'req_auto'): ChargeRequest<string>['send'] =>
  async () =>
    ({ kind: 'authorized', reference, value: 'set' }) as ChargeOutcome<string>;

function autoFunding(
  send: ChargeRequest<string>['send'],
  token?: string,
  amountUsd = 50,
): ChargeRequest<string> {
  return {
    provider: 'modelslab',
    operation: 'modelslab.wallet.auto_funding',
    tool: 'modelslab_auto_funding',
    amountUsd,
    args: { amount_usd: amountUsd, threshold_usd: 10 },
    what: 'wallet auto-funding',
    paymentMethod: 'Visa •••• 4242 (pm_card)',
    standing: { trigger: 'the wallet falls under $10.00' },
    confirmationToken: token,
    send,
  };
}

describe('a standing authorisation (auto-funding)', () => {
  it('asks with the amount and the trigger, books nothing as spent, and is listed until ended', async () => {
    const config = configWith(home);
    const asked: string[] = [];
    const spend = door(config, { consent: humanSays('accept', asked) });
    const done = await spend.charge(autoFunding(authorized()));
    expect(asked).toEqual([
      'Approve automatic charges of $50.00 USD each?\nWhat: wallet auto-funding.\nWhen: the wallet falls under $10.00.\n' +
        'Paid with: Visa •••• 4242 (pm_card).\nCaps: $0.00 of $100.00 spent today (UTC); at most $50.00 per call.',
    ]);
    expect(done).toMatchObject({
      status: 'done',
      outcome: { kind: 'authorized', reference: 'req_auto' },
      entry: undefined,
    });
    expect(await ledgerLines(config)).toEqual([]);
    expect(await spend.today()).toMatchObject({ spentUsd: 0, heldUsd: 0 });
    const standing = await spend.standing();
    expect(standing).toEqual([
      {
        provider: 'modelslab',
        operation: 'modelslab.wallet.auto_funding',
        amount: 50,
        trigger: 'the wallet falls under $10.00',
        description: 'wallet auto-funding',
        paid_with: 'Visa •••• 4242 (pm_card)',
        reference: 'req_auto',
        since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
    expect((await spend.overview()).standing).toEqual(standing);
    expect(
      JSON.parse(
        await readFile(join(spendDir(config), 'standing', 'modelslab_wallet_auto_funding.json'), 'utf8'),
      ),
    ).toEqual(standing[0]);
    // Another process sees it, and ending it is seen too.
    expect(await door(config).standing()).toEqual(standing);
    await spend.endStanding('modelslab.wallet.auto_funding');
    expect(await door(config).standing()).toEqual([]);
    expect((await spend.overview()).standing).toEqual([]);
  });

  it('quotes without a form, sets it with the token, and answers "already done" to the token again', async () => {
    const config = configWith(home);
    const spend = door(config);
    const p = provider();
    const quote = await spend.charge(autoFunding(authorized()));
    expect(quote.status === 'quote' && quote.text.split('\n').slice(0, 4)).toEqual([
      "Not set yet: automatic charges of $50.00 USD each need the human's approval.",
      'What: wallet auto-funding.',
      'When: the wallet falls under $10.00.',
      'Paid with: Visa •••• 4242 (pm_card).',
    ]);
    const token = tokenOf(quote);
    expect(await spend.standing()).toEqual([]);
    const set = await spend.charge(autoFunding(authorized('req_1'), token));
    expect(set).toMatchObject({ status: 'done', consent: 'confirmed with a quoted confirmation_token' });
    const again = await spend.charge(autoFunding(p.send(), token));
    expect(again).toMatchObject({ status: 'already_done', reference: 'req_1' });
    expect(p.sent).toEqual([]);
  });

  it('says a declined one was not set, and sends nothing', async () => {
    const p = provider();
    const result = await door(configWith(home), { consent: humanSays('decline') }).charge(
      autoFunding(p.send()),
    );
    expect(result).toEqual({
      status: 'declined',
      text: 'Not set: the human declined automatic charges of $50.00 (wallet auto-funding); nothing was sent.',
    });
    const dismissed = await door(configWith(home), { consent: humanSays('cancel') }).charge(
      autoFunding(p.send()),
    );
    expect(dismissed.status === 'declined' && dismissed.text).toMatch(/^Not set: the human dismissed/);
    expect(p.sent).toEqual([]);
  });

  it('must fit the per-call cap, but not what is left of the day: it charges nothing today', async () => {
    const config = configWith(home, { maxUsdPerCall: 40, maxUsdPerDay: 60, autoApproveUsd: 60 });
    const spend = door(config, { consent: humanSays('accept') });
    const p = provider();
    const over = await failure(spend.charge(autoFunding(p.send(), undefined, 45)));
    expect(over).toBeInstanceOf(SpendRefusedError);
    expect(over.message).toMatch(/^\$45\.00 is above the per-call cap ATELIER_MAX_USD_PER_CALL \(\$40\.00\)/);
    await spend.charge(fund(40, p.send()));
    // $20 left today: a $40 top-up authorisation still goes through, a $40 charge would not.
    expect(await spend.charge(autoFunding(authorized(), undefined, 40))).toMatchObject({ status: 'done' });
    await expect(spend.charge(fund(40, p.send(), { args: { amount_usd: 40, n: 2 } }))).rejects.toThrow(
      /daily cap/,
    );
    expect(p.sent).toHaveLength(1);
  });

  it('is never auto-approved: ATELIER_AUTO_APPROVE_USD covers one charge, not a series', async () => {
    const p = provider();
    const quote = await door(configWith(home, { autoApproveUsd: 100 })).charge(autoFunding(p.send()));
    expect(quote.status).toBe('quote');
    const asked: string[] = [];
    const spend = door(configWith(home, { autoApproveUsd: 100 }), { consent: humanSays('decline', asked) });
    expect((await spend.charge(autoFunding(p.send()))).status).toBe('declined');
    expect(asked).toHaveLength(1);
    expect(p.sent).toEqual([]);
  });

  it('holds nothing against the day cap while its request is in flight', async () => {
    const config = configWith(home);
    const spend = door(config, { consent: humanSays('accept') });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let during: unknown;
    const pending = spend.charge(
      autoFunding(async () => {
        during = await door(config).today();
        await gate;
        return { kind: 'authorized', reference: 'req_x', value: 'set' };
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    release();
    await pending;
    expect(during).toMatchObject({ heldUsd: 0, spentUsd: 0 });
  });
});

describe('a credit (a redeemed coupon)', () => {
  const credit = (reference = 'txn_1', amountUsd = 10) => ({
    provider: 'modelslab' as const,
    operation: 'modelslab.coupon.redeem',
    amountUsd,
    reference,
    description: 'coupon SPRING',
  });

  it('is one ledger line of kind credit per reference, and counts in no cap', async () => {
    const config = configWith(home, { maxUsdPerDay: 30, maxUsdPerCall: 30, autoApproveUsd: 30 });
    const spend = door(config);
    const first = await spend.recordCredit(credit());
    expect(first.added).toBe(true);
    expect(first.entry).toMatchObject({
      provider: 'modelslab',
      operation: 'modelslab.coupon.redeem',
      amount: 10,
      currency: 'USD',
      reference: 'txn_1',
      replay: false,
      description: 'coupon SPRING',
      kind: 'credit',
    });
    expect((await spend.recordCredit(credit())).added).toBe(false);
    expect(await ledgerLines(config)).toHaveLength(1);
    expect((await spend.recordCredit(credit('txn_2', 5))).added).toBe(true);
    expect(await spend.today()).toMatchObject({ spentUsd: 0 });
    // The whole day cap is still there for charges.
    const p = provider();
    expect(await spend.charge(fund(30, p.send()))).toMatchObject({ status: 'done' });
    expect(await spend.today()).toMatchObject({ spentUsd: 30 });
  });

  it('makes a ledger line with another kind unreadable, which blocks charges', async () => {
    const config = configWith(home);
    await mkdir(spendDir(config), { recursive: true });
    const line = {
      time: new Date().toISOString(),
      provider: 'modelslab',
      operation: 'x',
      amount: 5,
      currency: 'USD',
      reference: 'r',
      replay: false,
    };
    await writeFile(
      ledgerPath(config),
      `${JSON.stringify({ ...line, kind: 'credit' })}\n${JSON.stringify({ ...line, kind: 'debit' })}\n`,
    );
    const { entries, problems } = await door(config).overview();
    expect(entries).toHaveLength(1);
    expect(problems).toEqual([`${ledgerPath(config)}:2: kind "debit"`]);
    await expect(
      door(config, { consent: humanSays('accept') }).charge(fund(5, provider().send())),
    ).rejects.toThrow(/cannot be read/);
    expect(await readFile(ledgerPath(config), 'utf8')).not.toContain('pi_');
  });
});

describe('a standing authorisation whose answer is lost', () => {
  it('says it may have been set (not that money is held), and resends the same key on the same call', async () => {
    const config = configWith(home);
    const spend = door(config, { consent: humanSays('accept') });
    const keys: string[] = [];
    const lost = await failure(
      spend.charge(
        autoFunding(async (key) => {
          keys.push(key);
          throw new OutcomeUnknownError('The answer was lost.');
        }),
      ),
    );
    expect(lost.facts).toEqual([
      'It may have been set (wallet auto-funding); nothing was charged by it yet.',
    ]);
    expect(lost.next).toBe(
      'Call modelslab_auto_funding again with the same arguments: it resends the same request with the same ' +
        'Idempotency-Key, so the provider answers it instead of setting it twice.',
    );
    const reset = await failure(
      spend.charge(
        autoFunding(async (key) => {
          keys.push(key);
          throw new NetworkError('modelslab', 'Connection reset.');
        }),
      ),
    );
    expect(reset.facts).toEqual([
      'OUTCOME UNKNOWN: it may have been set (wallet auto-funding); nothing was charged by it yet.',
    ]);
    expect(await spend.today()).toMatchObject({ heldUsd: 0 });
    expect(
      await spend.charge(
        autoFunding(async (key) => (keys.push(key), { kind: 'authorized', reference: 'r', value: 'set' })),
      ),
    ).toMatchObject({ status: 'done' });
    expect(new Set(keys).size).toBe(1);
    expect(keys).toHaveLength(3);
    expect(await spend.standing()).toHaveLength(1);
  });
});

describe('a standing record that cannot be read', () => {
  it.each([
    ['not JSON', '{"amount": 5,'],
    ['no trigger', JSON.stringify({ amount: 5 })],
    ['no amount', JSON.stringify({ trigger: 'the wallet falls under $1.00', amount: 'five' })],
  ])('is reported with its file (%s), never shown as off', async (_why, text) => {
    const config = configWith(home);
    const dir = join(spendDir(config), 'standing');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'modelslab_wallet_auto_funding.json'), text);
    await expect(door(config).standing()).rejects.toThrow(
      /A spend record \(.*modelslab_wallet_auto_funding\.json\) cannot be read/,
    );
  });
});
