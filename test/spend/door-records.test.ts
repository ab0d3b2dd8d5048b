import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { NetworkError, SpendStateError } from '../../src/errors.js';
import { spendDir } from '../../src/spend/home.js';
import { argsDigest } from '../../src/spend/idempotency.js';
import type { ChargeOutcome } from '../../src/spend/index.js';
import {
  configWith,
  door,
  failure,
  fund,
  HOUR,
  keyDigest,
  ledgerLines,
  provider,
  recordingLogger,
  removeHome,
} from './kit.js';

// What the spend door writes down and reports: ledger lines for confirmed, refunded and replayed charges,
// 3-D Secure payments until they resolve, payment links and their checkouts, and the overview of what is held.

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'atelier-door-records-'));
});
afterEach(async () => {
  await removeHome(home);
});

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const at = (ms: number) => () => ms;
const answer = (outcome: Partial<ChargeOutcome<string>>) => async (): Promise<ChargeOutcome<string>> =>
  ({ kind: 'confirmed', reference: 'pi_1', replay: false, value: 'ok', ...outcome }) as ChargeOutcome<string>;
const holdsDir = (config: Config) => join(spendDir(config), 'idempotency');

describe('ledger lines of a charge', () => {
  it('confirmed: the approved amount, and the figure the provider stated when it differs (logged)', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const log = recordingLogger();
    let key = '';
    const result = await door(config, { now: at(T0), log }).charge(
      fund(25, async (k) => {
        key = k;
        return answer({ reportedUsd: 24.5 })();
      }),
    );
    const line = {
      time: '2026-12-03T10:00:00.000Z',
      provider: 'modelslab',
      operation: 'modelslab.wallet.fund',
      amount: 25,
      currency: 'USD',
      reference: 'pi_1',
      replay: false,
      description: 'add $25 to the wallet',
      reported_amount: 24.5,
      key_sha256: keyDigest(key),
    };
    expect(await ledgerLines(config)).toEqual([line]);
    expect(result).toMatchObject({ status: 'done', entry: line });
    expect(log.lines).toEqual([
      'warn: modelslab.wallet.fund: the provider reported 24.5 for a charge approved at $25.00',
    ]);
  });

  it.each([
    ['the same amount', 25],
    ['no amount', undefined],
  ])('confirmed with %s stated: no second figure, nothing logged', async (_, reportedUsd) => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const log = recordingLogger();
    await door(config, { log }).charge(fund(25, answer({ reportedUsd })));
    const [line] = await ledgerLines(config);
    expect(line).not.toHaveProperty('reported_amount');
    expect(log.lines).toEqual([]);
  });

  it('confirmed as a replay by the provider: one charge, marked as a replay', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    await door(config).charge(fund(25, answer({ replay: true })));
    expect(await ledgerLines(config)).toMatchObject([{ reference: 'pi_1', replay: true }]);
  });

  it('refunded in the same answer: the charge and its refund, netting to nothing spent', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    let key = '';
    const result = await door(config, { now: at(T0) }).charge(
      fund(25, async (k) => {
        key = k;
        return { kind: 'refunded', reference: 'pi_r', value: 'failed' };
      }),
    );
    const charge = {
      time: '2026-12-03T10:00:00.000Z',
      provider: 'modelslab',
      operation: 'modelslab.wallet.fund',
      amount: 25,
      currency: 'USD',
      reference: 'pi_r',
      replay: false,
      description: 'add $25 to the wallet',
      key_sha256: keyDigest(key),
    };
    expect(await ledgerLines(config)).toEqual([
      charge,
      {
        time: '2026-12-03T10:00:00.000Z',
        provider: 'modelslab',
        operation: 'modelslab.wallet.fund.refund',
        amount: -25,
        currency: 'USD',
        reference: 'pi_r',
        replay: false,
        description: 'refunded by the provider: add $25 to the wallet',
        key_sha256: keyDigest(`${key}#refund`),
      },
    ]);
    expect(result).toMatchObject({ status: 'done', entry: charge });
    expect((await door(config, { now: at(T0) }).today()).spentUsd).toBe(0);
  });

  it('the key is kept only as the first 32 hex digits of its sha256, as older ledgers have it', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    await door(config).charge(fund(25, p.send()));
    const [line] = await ledgerLines(config);
    expect(line!.key_sha256).toMatch(/^[0-9a-f]{32}$/);
    expect(line!.key_sha256).toBe(keyDigest(p.sent[0]!.key));
  });
});

describe('a payment waiting for 3-D Secure', () => {
  it('is held with what it is for, then booked once when it succeeds, even if resolved twice', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    await door(config, { now: at(T0) }).charge(
      fund(25, answer({ kind: 'action_required', reference: 'pi_3ds' })),
    );
    const pendingDir = join(spendDir(config), 'pending');
    const [file] = await readdir(pendingDir);
    expect(file).toBe('pi_3ds.json');
    const pending = {
      provider: 'modelslab',
      operation: 'modelslab.wallet.fund',
      amount: 25,
      reference: 'pi_3ds',
      description: 'add $25 to the wallet',
      created_at: '2026-12-03T10:00:00.000Z',
    };
    expect(JSON.parse(await readFile(join(pendingDir, file!), 'utf8'))).toEqual(pending);
    const saved = join(home, 'pending-copy');
    await cp(pendingDir, saved, { recursive: true });

    const resolved = await door(config, { now: at(T0 + HOUR) }).resolvePending('pi_3ds', true);
    const line = {
      time: '2026-12-03T11:00:00.000Z',
      provider: 'modelslab',
      operation: 'modelslab.wallet.fund',
      amount: 25,
      currency: 'USD',
      reference: 'pi_3ds',
      replay: false,
      description: 'add $25 to the wallet',
    };
    expect(resolved).toEqual({ pending, entry: line });
    expect(await readdir(pendingDir)).toEqual([]);
    // The process died after booking it, before removing the record: resolving again books nothing new.
    await cp(saved, pendingDir, { recursive: true });
    expect(await door(config, { now: at(T0 + 2 * HOUR) }).resolvePending('pi_3ds', true)).toEqual({
      pending,
      entry: line,
    });
    expect(await ledgerLines(config)).toEqual([line]);
    expect(await door(config).resolvePending('pi_other', true)).toBeUndefined();
  });

  it('that fails is released and never booked', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    await door(config).charge(fund(25, answer({ kind: 'action_required', reference: 'pi_3ds' })));
    const resolved = await door(config).resolvePending('pi_3ds', false);
    expect(resolved).toMatchObject({ pending: { reference: 'pi_3ds', amount: 25 } });
    expect(resolved?.entry).toBeUndefined();
    expect(await ledgerLines(config)).toEqual([]);
    expect((await door(config).today()).heldUsd).toBe(0);
  });

  it.each([
    ['an amount that is not a number', { amount: '25' }],
    [
      'an amount that is not finite',
      '{"amount":1e999,"reference":"pi_x","created_at":"2026-12-03T10:00:00.000Z"}',
    ],
    ['torn', '{"amount":'],
  ])('with a record holding %s: charges stop, naming the record', async (_, record) => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const path = join(spendDir(config), 'pending', 'pi_x.json');
    await mkdir(join(spendDir(config), 'pending'), { recursive: true });
    await writeFile(
      path,
      typeof record === 'string'
        ? record
        : JSON.stringify({ ...record, created_at: new Date().toISOString() }),
    );
    const error = await failure(door(config).charge(fund(25, provider().send())));
    expect(error).toBeInstanceOf(SpendStateError);
    expect((error as SpendStateError).path).toBe(path);
    expect(error.message).toBe(`A spend record (${path}) cannot be read; nothing was charged.`);
    expect(error.next).toBe(
      'Ask the human to repair or delete that file (check the payment with the provider first), then call again.',
    );
  });

  it('each is held on its own, whatever its reference looks like', async () => {
    const config = configWith(home, { autoApproveUsd: 50, maxUsdPerCall: 50 });
    const long = `pi_${'x'.repeat(300)}`;
    const references = ['pi_aaa', 'pi_bbb', 'pi.1', 'pi1', 'pi/2', long];
    for (const [i, reference] of references.entries()) {
      await door(config).charge(
        fund(1 + i, answer({ kind: 'action_required', reference }), { args: { n: i } }),
      );
    }
    expect((await door(config).today()).heldUsd).toBe(1 + 2 + 3 + 4 + 5 + 6);
    const files = await readdir(join(spendDir(config), 'pending'));
    expect(files).toHaveLength(6);
    expect(files.every((f) => /^[A-Za-z0-9_-]{1,120}\.json$/.test(f))).toBe(true);
    expect(await door(config).resolvePending(long, true)).toMatchObject({ entry: { amount: 6 } });
  });
});

describe('payment links', () => {
  const checkout = (sessionId: string, reportedUsd: unknown, replay = false) => ({
    sessionId,
    provider: 'modelslab' as const,
    operation: 'modelslab.checkout',
    description: 'a checkout',
    reportedUsd,
    replay,
  });

  it('a checkout is booked once, at its link amount, with the figure the provider stated beside it', async () => {
    const config = configWith(home);
    const spend = door(config, { now: at(T0) });
    await spend.rememberLink({ sessionId: 'cs_1', provider: 'modelslab', amountUsd: 25, what: 'add $25' });
    expect(JSON.parse(await readFile(join(spendDir(config), 'links', 'cs_1.json'), 'utf8'))).toEqual({
      amount_micros: 25_000_000,
      what: 'add $25',
      provider: 'modelslab',
    });
    const line = {
      time: '2026-12-03T10:00:00.000Z',
      provider: 'modelslab',
      operation: 'modelslab.checkout',
      amount: 25,
      currency: 'USD',
      reference: 'cs_1',
      replay: true,
      description: 'a checkout',
      reported_amount: 2500,
    };
    expect(await spend.recordCheckout(checkout('cs_1', 2500, true))).toEqual({ entry: line, added: true });
    expect(await spend.recordCheckout(checkout('cs_1', 25))).toEqual({ entry: line, added: false });
    expect(await ledgerLines(config)).toEqual([line]);
  });

  it.each([25, '25.00', undefined])(
    'a checkout whose provider states %j: no second figure',
    async (reported) => {
      const config = configWith(home);
      const spend = door(config);
      await spend.rememberLink({ sessionId: 'cs_1', provider: 'modelslab', amountUsd: 25, what: 'x' });
      const { entry } = await spend.recordCheckout(checkout('cs_1', reported));
      expect(entry.amount).toBe(25);
      expect(entry).not.toHaveProperty('reported_amount');
    },
  );

  it('links are kept apart by their session', async () => {
    const config = configWith(home);
    const spend = door(config);
    await spend.rememberLink({ sessionId: 'cs_aaa', provider: 'modelslab', amountUsd: 10, what: 'x' });
    await spend.rememberLink({ sessionId: 'cs_bbb', provider: 'modelslab', amountUsd: 20, what: 'y' });
    expect((await spend.recordCheckout(checkout('cs_aaa', undefined))).entry.amount).toBe(10);
    expect((await spend.recordCheckout(checkout('cs_bbb', undefined))).entry.amount).toBe(20);
  });

  it.each<[unknown, number]>([
    [12.5, 12.5],
    ['12.5', 12.5],
    [0, 0],
  ])(
    'a checkout this server did not create is booked at what the provider states (%j)',
    async (reported, amount) => {
      const config = configWith(home);
      const { entry } = await door(config).recordCheckout(checkout('cs_x', reported));
      expect(entry).toMatchObject({ amount, reference: 'cs_x' });
      expect(entry).not.toHaveProperty('reported_amount');
    },
  );

  it.each([-1, 'abc', undefined, Number.POSITIVE_INFINITY])(
    'a checkout this server did not create, stating no usable amount (%j), is not booked',
    async (reported) => {
      const config = configWith(home);
      const error = await failure(door(config).recordCheckout(checkout('cs_x', reported)));
      expect(error).toBeInstanceOf(SpendStateError);
      expect((error as SpendStateError).path).toBe(join(spendDir(config), 'links'));
      expect(error.message).toBe(
        `Checkout cs_x was paid, but it was not created by this server and the provider's answer states no usable amount (${JSON.stringify(reported)}).`,
      );
      expect(error.next).toBe(
        'Check the amount with modelslab_wallet (transactions) and tell the human; nothing was recorded.',
      );
      expect(await ledgerLines(config)).toEqual([]);
    },
  );

  it.each([0, 1.5, '25'])(
    'a link record with the amount %j cannot be read: nothing is booked',
    async (amount) => {
      const config = configWith(home);
      const path = join(spendDir(config), 'links', 'cs_1.json');
      await mkdir(join(spendDir(config), 'links'), { recursive: true });
      await writeFile(path, JSON.stringify({ amount_micros: amount }));
      const error = await failure(door(config).recordCheckout(checkout('cs_1', 25)));
      expect(error).toBeInstanceOf(SpendStateError);
      expect((error as SpendStateError).path).toBe(path);
      expect(await ledgerLines(config)).toEqual([]);
    },
  );
});

describe('the overview of what is held', () => {
  it('lists charges in flight, with an unknown outcome, and waiting for 3-D Secure; nothing else', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const spend = (ms = T0) => door(config, { now: at(ms) });
    // Outcome unknown: its answer was lost.
    await failure(
      spend().charge(
        fund(10, () => Promise.reject(new NetworkError('modelslab', 'lost')), { args: { n: 1 } }),
      ),
    );
    // Waiting for 3-D Secure.
    await spend().charge(
      fund(20, answer({ kind: 'action_required', reference: 'pi_3ds' }), { args: { n: 2 } }),
    );
    // Not held: a request that moves no money, a day-old hold and 3-D Secure payment, a booked charge.
    await failure(
      spend().once({
        operation: 'op',
        args: {},
        send: () => Promise.reject(new NetworkError('modelslab', 'x')),
      }),
    );
    await failure(
      spend(T0 - 25 * HOUR).charge(
        fund(1, () => Promise.reject(new NetworkError('modelslab', 'x')), { args: { n: 3 } }),
      ),
    );
    await spend(T0 - 25 * HOUR).charge(
      fund(2, answer({ kind: 'action_required', reference: 'pi_old' }), { args: { n: 4 } }),
    );
    const saved = join(home, 'holds-copy');
    await spend().charge(
      fund(
        3,
        async () => {
          await cp(holdsDir(config), saved, { recursive: true });
          return answer({ reference: 'pi_booked' })();
        },
        { args: { n: 5 } },
      ),
    );
    await cp(saved, holdsDir(config), { recursive: true, force: false });
    // A hold written without a description shows its operation.
    await writeFile(
      join(holdsDir(config), `${argsDigest('modelslab.subscribe', {})}.json`),
      JSON.stringify({
        key: 'atelier-sub-1',
        operation: 'modelslab.subscribe',
        args_sha256: argsDigest('modelslab.subscribe', {}),
        created_at: '2026-12-03T09:00:00.000Z',
        amount_micros: 4_000,
      }),
    );

    let during: unknown;
    await spend().charge(
      fund(
        30,
        async () => {
          during = (await spend().overview()).held;
          return answer({ reference: 'pi_30' })();
        },
        { args: { n: 6 } },
      ),
    );
    const since = '2026-12-03T10:00:00.000Z';
    const unknown = { amountUsd: 10, description: 'add $10 to the wallet', since, state: 'outcome unknown' };
    const sub = {
      amountUsd: 0.004,
      description: 'modelslab.subscribe',
      since: '2026-12-03T09:00:00.000Z',
      state: 'outcome unknown',
    };
    const threeDS = {
      amountUsd: 20,
      description: 'add $20 to the wallet',
      since,
      state: 'waiting for 3-D Secure',
      reference: 'pi_3ds',
    };
    const sorted = (held: unknown) =>
      [...(held as Array<{ description: string }>)].sort((a, b) =>
        a.description.localeCompare(b.description),
      );
    expect(sorted(during)).toEqual(
      sorted([
        unknown,
        sub,
        threeDS,
        { amountUsd: 30, description: 'add $30 to the wallet', since, state: 'in flight' },
      ]),
    );
    const overview = await spend().overview();
    expect(sorted(overview.held)).toEqual(sorted([unknown, sub, threeDS]));
    expect(overview.problems).toEqual([]);
    // The day-old hold was closed meanwhile: booked as spent, outcome unknown.
    expect(overview.entries.map((e) => e.outcome ?? e.reference).sort()).toEqual([
      'pi_30',
      'pi_booked',
      'unknown',
    ]);
  });
});
