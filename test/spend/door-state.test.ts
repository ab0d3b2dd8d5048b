import { appendFile, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { NetworkError, OutcomeUnknownError, ProviderError, SpendRefusedError } from '../../src/errors.js';
import { spendDir } from '../../src/spend/home.js';
import { argsDigest } from '../../src/spend/idempotency.js';
import type { ChargeAttempt } from '../../src/spend/index.js';
import {
  configWith,
  door,
  fund,
  HOUR,
  keyDigest,
  ledgerLines,
  ledgerPath,
  liveOtherOwner,
  provider,
  recordingLogger,
  tokenFile,
  tokenOf,
  failure,
  removeHome,
} from './kit.js';

// The durable state behind the spend door (holds, keys, tokens, the ledger) across lost answers, crashes,
// other processes and hand-edited files: what is held, what is sent again, and what is refused.

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'atelier-door-state-'));
});
afterEach(async () => {
  await removeHome(home);
});

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const lost = () => new NetworkError('modelslab', 'socket hang up');
const http = (status: number, code?: string) =>
  new ProviderError({ provider: 'modelslab', status, code, message: `HTTP ${status}` });
const holdsDir = (config: Config) => join(spendDir(config), 'idempotency');
const holdPath = (config: Config, args: Record<string, unknown>, operation = 'modelslab.wallet.fund') =>
  join(holdsDir(config), `${argsDigest(operation, args)}.json`);
const readHold = async (config: Config, args: Record<string, unknown>) =>
  JSON.parse(await readFile(holdPath(config, args), 'utf8')) as Record<string, unknown>;
const writeHold = async (
  config: Config,
  args: Record<string, unknown>,
  hold: Record<string, unknown>,
  operation = 'modelslab.wallet.fund',
) => {
  await mkdir(holdsDir(config), { recursive: true });
  await writeFile(holdPath(config, args, operation), JSON.stringify(hold));
};

describe('what counts against the day cap', () => {
  it('USD lines of the ledger, whatever the case of the currency; other currencies are not dollars', async () => {
    const config = configWith(home);
    await door(config, { now: () => T0 }).today();
    const line = {
      time: '2026-12-03T09:00:00.000Z',
      provider: 'x',
      operation: 'x',
      reference: 'r',
      replay: false,
    };
    await mkdir(spendDir(config), { recursive: true });
    await appendFile(
      ledgerPath(config),
      [
        { ...line, amount: 10, currency: 'usd' },
        { ...line, amount: 20, currency: 'EUR' },
        { ...line, amount: 5, currency: 'USD' },
        { ...line, amount: 7, currency: 'USD', time: '2026-12-02T23:59:59.999Z' },
      ]
        .map((l) => `${JSON.stringify(l)}\n`)
        .join(''),
    );
    expect(await door(config, { now: () => T0 }).today()).toEqual({
      day: '2026-12-03',
      spentUsd: 15,
      heldUsd: 0,
      maxPerDayUsd: 100,
      maxPerCallUsd: 50,
      autoApproveUsd: 0,
    });
  });

  it('a charge whose answer was lost, for exactly one day', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    p.answer(() => lost());
    await failure(door(config, { now: () => T0 }).charge(fund(25, p.send())));
    expect((await door(config, { now: () => T0 + 24 * HOUR - 1 }).today()).heldUsd).toBe(25);
    expect((await door(config, { now: () => T0 + 24 * HOUR }).today()).heldUsd).toBe(0);
  });

  it('a 3-D Secure payment, for one day', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    await door(config, { now: () => T0 }).charge(
      fund(25, async () => ({ kind: 'action_required', reference: 'pi_3ds', value: 'x' })),
    );
    expect((await door(config, { now: () => T0 + 24 * HOUR - 1 }).today()).heldUsd).toBe(25);
    expect((await door(config, { now: () => T0 + 24 * HOUR }).today()).heldUsd).toBe(0);
    expect((await door(config, { now: () => T0 + 24 * HOUR }).overview()).held).toEqual([]);
  });

  it('not a request that moves no money, even while its key is kept', async () => {
    const config = configWith(home);
    await failure(door(config).once({ operation: 'op', args: {}, send: () => Promise.reject(lost()) }));
    expect(await readdir(holdsDir(config))).toHaveLength(1);
    expect((await door(config).today()).heldUsd).toBe(0);
  });
});

describe('a hold nobody settled within a day', () => {
  it('is booked as spent on its day, outcome unknown, and its key let go', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    p.answer(() => lost());
    await failure(door(config, { now: () => T0 }).charge(fund(25, p.send())));
    const { key } = await readHold(config, { amount_usd: 25 });
    // A hold written by hand or by an older version: no provider, no description.
    await writeHold(
      config,
      { n: 2 },
      {
        key: 'atelier-old-1',
        operation: 'modelslab.subscribe',
        args_sha256: argsDigest('modelslab.wallet.fund', { n: 2 }),
        created_at: '2026-12-02T08:00:00.000Z',
        amount_micros: 9_990_000,
      },
    );
    p.answer(() => 'ok');
    await door(config, { now: () => T0 + 25 * HOUR }).charge(fund(1, p.send(), { args: { n: 3 } }));
    const lines = await ledgerLines(config);
    expect(lines.slice(0, 2).sort((a, b) => String(a.time).localeCompare(String(b.time)))).toEqual([
      {
        time: '2026-12-02T08:00:00.000Z',
        provider: 'unknown',
        operation: 'modelslab.subscribe',
        amount: 9.99,
        currency: 'USD',
        reference: `unknown:${keyDigest('atelier-old-1').slice(0, 12)}`,
        replay: false,
        description: 'modelslab.subscribe (outcome never known: check the provider)',
        outcome: 'unknown',
        key_sha256: keyDigest('atelier-old-1'),
      },
      {
        time: '2026-12-03T10:00:00.000Z',
        provider: 'modelslab',
        operation: 'modelslab.wallet.fund',
        amount: 25,
        currency: 'USD',
        reference: `unknown:${keyDigest(String(key)).slice(0, 12)}`,
        replay: false,
        description: 'add $25 to the wallet (outcome never known: check the provider)',
        outcome: 'unknown',
        key_sha256: keyDigest(String(key)),
      },
    ]);
    expect(lines).toHaveLength(3);
    expect(await readdir(holdsDir(config))).toEqual([]);
  });

  it('is left alone while its process is alive', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const hold = {
      key: 'atelier-live-1',
      operation: 'modelslab.wallet.fund',
      args_sha256: argsDigest('modelslab.wallet.fund', { n: 1 }),
      created_at: new Date(T0 - 25 * HOUR).toISOString(),
      amount_micros: 5_000_000,
      owner: await liveOtherOwner(),
    };
    await writeHold(config, { n: 1 }, hold);
    await door(config, { now: () => T0 }).charge(fund(1, provider().send(), { args: { n: 2 } }));
    expect((await ledgerLines(config)).map((l) => l.reference)).toEqual(['pi_1']);
    expect(await readHold(config, { n: 1 })).toEqual(hold);
  });

  it('that moves no money is let go without a ledger line', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    await failure(
      door(config, { now: () => T0 }).once({ operation: 'op', args: {}, send: () => Promise.reject(lost()) }),
    );
    await door(config, { now: () => T0 + 25 * HOUR }).charge(fund(1, provider().send()));
    expect((await ledgerLines(config)).map((l) => l.reference)).toEqual(['pi_1']);
    expect(await readdir(holdsDir(config))).toEqual([]);
  });
});

describe('an identical charge already held', () => {
  it('booked before its process died: the next identical charge is a new one, with a new key', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    const saved = join(home, 'hold-copy');
    const send = p.send();
    // The hold as it was while the request was out: the process dies after the ledger line, before releasing it.
    const first = await door(config).charge(
      fund(25, async (key: string, attempt: ChargeAttempt) => {
        await cp(holdsDir(config), saved, { recursive: true });
        return send(key, attempt);
      }),
    );
    expect(first.status).toBe('done');
    await cp(saved, holdsDir(config), { recursive: true });
    const log = recordingLogger();
    await door(config, { log }).charge(fund(25, p.send()));
    expect(new Set(p.sent.map((s) => s.key)).size).toBe(2);
    expect((await ledgerLines(config)).map((l) => [l.reference, l.replay])).toEqual([
      ['pi_1', false],
      ['pi_2', false],
    ]);
    expect(log.lines.filter((l) => l.includes('replay'))).toEqual([]);
  });

  it('by another process right now: nothing is sent', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    await writeHold(
      config,
      { amount_usd: 25 },
      {
        key: 'atelier-other-1',
        operation: 'modelslab.wallet.fund',
        args_sha256: argsDigest('modelslab.wallet.fund', { amount_usd: 25 }),
        created_at: new Date().toISOString(),
        amount_micros: 25_000_000,
        owner: await liveOtherOwner(),
      },
    );
    const error = await failure(door(config).charge(fund(25, p.send())));
    expect(error).toBeInstanceOf(SpendRefusedError);
    expect(error.message).toBe(
      'An identical request is being sent right now by another atelier-mcp process (pid 1); nothing was sent again.',
    );
    expect(error.next).toBe('Call again in a few seconds: it then finds that request’s outcome.');
    expect(p.sent).toHaveLength(0);
  });

  it('by another process for over a day, with the token that sent it: still nothing is sent', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config, { now: () => T0 }).charge(fund(25, p.send())));
    p.answer(() => lost());
    await failure(door(config, { now: () => T0 }).charge(fund(25, p.send(), { token })));
    const hold = await readHold(config, { amount_usd: 25 });
    await writeHold(config, { amount_usd: 25 }, { ...hold, owner: await liveOtherOwner() });
    p.answer(() => 'ok');
    const error = await failure(
      door(config, { now: () => T0 + 25 * HOUR }).charge(fund(25, p.send(), { token })),
    );
    expect(error).toBeInstanceOf(SpendRefusedError);
    expect(error.message).toContain('another atelier-mcp process (pid 1)');
    expect(p.sent).toHaveLength(1);
  });

  it('under another key than the token sent: the token resends only its own key', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    p.answer(() => lost());
    await failure(door(config).charge(fund(25, p.send(), { token })));
    const hold = await readHold(config, { amount_usd: 25 });
    await writeHold(config, { amount_usd: 25 }, { ...hold, key: 'atelier-someone-else' });
    p.answer(() => 'ok');
    const error = await failure(door(config).charge(fund(25, p.send(), { token })));
    expect(error).toBeInstanceOf(OutcomeUnknownError);
    expect(error.message).toBe(
      'This confirmation_token was used to send a charge whose outcome was never recorded; nothing was sent again.',
    );
    expect(error.next).toBe(
      'Check the provider for the charge (modelslab_wallet transactions, modelslab_payment_status, the Stripe ' +
        'dashboard for MPP) and spend_report; call the tool again without confirmation_token only once you know it did not go through.',
    );
    expect(p.sent).toHaveLength(1);
  });

  it('a request that moves no money, sent right now by another process, shares its key', async () => {
    const config = configWith(home);
    await writeHold(
      config,
      {},
      {
        key: 'atelier-op-shared',
        operation: 'op',
        args_sha256: argsDigest('op', {}),
        created_at: new Date().toISOString(),
        owner: await liveOtherOwner(),
      },
      'op',
    );
    const keys: string[] = [];
    const result = await door(config).once({
      operation: 'op',
      args: {},
      send: async (k) => (keys.push(k), 'job_1'),
    });
    expect(keys).toEqual(['atelier-op-shared']);
    expect(result).toMatchObject({ value: 'job_1', replayed: true });
    await result.settled;
  });
});

describe('a lost answer', () => {
  it('keeps the hold, no longer owned, with why (bounded)', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    p.answer(() => new NetworkError('modelslab', 'x'.repeat(1000)));
    await failure(door(config).charge(fund(25, p.send())));
    const hold = await readHold(config, { amount_usd: 25 });
    expect(hold.owner).toBeUndefined();
    expect(hold.unknown).toBe('x'.repeat(300));
    expect(hold.amount_micros).toBe(25_000_000);
    p.answer(() => Object.assign(new Error('thrown'), { name: 'Weird' }));
    await failure(door(config).charge(fund(25, p.send())));
    p.answer(() => 'ok');
    // A thrown string is kept as it is.
    await failure(
      door(config).charge(
        fund(25, () => {
          throw 'a string';
        }),
      ),
    );
    expect((await readHold(config, { amount_usd: 25 })).unknown).toBe('a string');
  });

  it('after the hold was removed meanwhile, leaves it removed and still says the outcome is unknown', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const error = await failure(
      door(config).charge(
        fund(25, async () => {
          await rm(holdsDir(config), { recursive: true });
          throw lost();
        }),
      ),
    );
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.facts[0]).toMatch(/^OUTCOME UNKNOWN: the \$25\.00 charge/);
    expect(await readdir(holdsDir(config)).catch(() => [])).toEqual([]);
  });

  it('is resent with the same key, and the log says so', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    p.answer(() => lost());
    const log = recordingLogger();
    await failure(door(config, { log }).charge(fund(25, p.send())));
    expect(log.lines).toEqual([]);
    p.answer(() => 'ok');
    await door(config, { log }).charge(fund(25, p.send()));
    expect(log.lines).toEqual([
      'info: modelslab.wallet.fund: resending with the key of an earlier unsettled request (replay)',
    ]);
    expect(p.sent[1]!.key).toBe(p.sent[0]!.key);
  });

  it('is resent with its key while other charges are booked', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    await door(config).charge(fund(5, p.send()));
    p.answer(() => lost());
    await failure(door(config).charge(fund(25, p.send())));
    p.answer(() => 'ok');
    await door(config).charge(fund(25, p.send()));
    expect(p.sent[2]!.key).toBe(p.sent[1]!.key);
    expect((await ledgerLines(config)).map((l) => [l.amount, l.replay])).toEqual([
      [5, false],
      [25, true],
    ]);
  });

  it('then a refusal of the resend: nothing was charged, the hold goes and the token is spent', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    p.answer(() => lost());
    await failure(door(config).charge(fund(25, p.send(), { token })));
    const declined = http(402, 'payment_declined');
    p.answer(() => declined);
    await expect(door(config).charge(fund(25, p.send(), { token }))).rejects.toBe(declined);
    expect((await door(config).today()).heldUsd).toBe(0);
    const spent = await failure(door(config).charge(fund(25, p.send(), { token })));
    expect(spent.message).toBe(
      'This confirmation_token was already used and the provider refused that charge (payment_declined); nothing was charged.',
    );
    expect(spent.next).toBe(
      'Call modelslab_fund_wallet again without confirmation_token for a new quote, and show it to the human.',
    );
  });

  it('then a refusal of a request that moves no money: its key is forgotten', async () => {
    const config = configWith(home);
    const keys: string[] = [];
    const req = (answer: () => Promise<string>) => ({
      operation: 'op',
      args: {},
      send: async (k: string) => (keys.push(k), answer()),
    });
    await failure(door(config).once(req(() => Promise.reject(lost()))));
    await failure(door(config).once(req(() => Promise.reject(http(422)))));
    const third = await door(config).once(req(async () => 'ok'));
    // Its key is forgotten after it answers: wait for that before the home is removed.
    await third.settled;
    expect(third.replayed).toBe(false);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('a 429 to the first send of a request that moves no money: nothing was done, its key is forgotten', async () => {
    const config = configWith(home);
    const keys: string[] = [];
    await failure(
      door(config).once({
        operation: 'op',
        args: {},
        send: async (k) => (keys.push(k), Promise.reject(http(429))),
      }),
    );
    expect(await readdir(holdsDir(config))).toEqual([]);
    const next = await door(config).once({
      operation: 'op',
      args: {},
      send: async (k) => (keys.push(k), 'ok'),
    });
    await next.settled;
    expect(next.replayed).toBe(false);
    expect(keys[1]).not.toBe(keys[0]);
  });

  it('then a 429 to a request that moves no money: its key is kept and resent', async () => {
    const config = configWith(home);
    const keys: string[] = [];
    const req = (answer: () => Promise<string>) => ({
      operation: 'op',
      args: {},
      send: async (k: string) => (keys.push(k), answer()),
    });
    await failure(door(config).once(req(() => Promise.reject(lost()))));
    await failure(door(config).once(req(() => Promise.reject(http(429)))));
    const third = await door(config).once(req(async () => 'ok'));
    // Its key is forgotten after it answers: wait for that before the home is removed.
    await third.settled;
    expect(third.replayed).toBe(true);
    expect(new Set(keys).size).toBe(1);
  });
});

describe('a refusal', () => {
  it('without a token: passed on as it is, nothing held', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const declined = http(402, 'payment_declined');
    await expect(door(config).charge(fund(25, () => Promise.reject(declined)))).rejects.toBe(declined);
    expect((await door(config).today()).heldUsd).toBe(0);
    expect(await readdir(holdsDir(config))).toEqual([]);
  });

  it.each([
    ['its code', http(402, 'card_declined'), 'card_declined'],
    ['its status when it has no code', http(403), 'HTTP 403'],
  ])('is remembered on the token by %s', async (_, error, code) => {
    const config = configWith(home);
    const token = tokenOf(await door(config).charge(fund(25, provider().send())));
    await failure(door(config).charge(fund(25, () => Promise.reject(error), { token })));
    expect((await failure(door(config).charge(fund(25, provider().send(), { token })))).message).toContain(
      `the provider refused that charge (${code})`,
    );
  });

  it('or a 429 after the token file vanished: passed on, and no token file is made up', async () => {
    const config = configWith(home);
    const token = tokenOf(await door(config).charge(fund(25, provider().send())));
    const busy = http(429);
    await expect(
      door(config).charge(
        fund(
          25,
          async () => {
            await rm(tokenFile(config, token));
            throw busy;
          },
          { token },
        ),
      ),
    ).rejects.toBe(busy);
    expect(await readdir(join(spendDir(config), 'confirmations'))).toEqual([]);
    expect(await readdir(holdsDir(config))).toEqual([]);
  });
});

describe('after the provider confirmed', () => {
  it('the token keeps the reference of its charge, and the hold is released', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config, { now: () => T0 }).charge(fund(25, p.send())));
    await door(config, { now: () => T0 + 60_000 }).charge(fund(25, p.send(), { token }));
    const record = JSON.parse(await readFile(tokenFile(config, token), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({
      reference: 'pi_1',
      used_at: '2026-12-03T10:01:00.000Z',
      key_sha256: keyDigest(p.sent[0]!.key),
    });
    expect(await readdir(holdsDir(config))).toEqual([]);
  });

  it('a token file that vanished meanwhile stays gone: the token is unknown after', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    const send = p.send();
    const done = await door(config).charge(
      fund(
        25,
        async (key, attempt) => {
          await rm(tokenFile(config, token));
          return send(key, attempt);
        },
        { token },
      ),
    );
    expect(done.status).toBe('done');
    expect(await readdir(join(spendDir(config), 'confirmations'))).toEqual([]);
    expect((await failure(door(config).charge(fund(25, p.send(), { token })))).message).toMatch(
      /unknown or has expired/,
    );
  });

  it('a failure to tidy up after booking is logged, and the charge stands', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    const send = p.send();
    const log = recordingLogger();
    const done = await door(config, { log }).charge(
      fund(
        25,
        async (key, attempt) => {
          await rm(tokenFile(config, token));
          await mkdir(join(tokenFile(config, token), 'blocker'), { recursive: true });
          return send(key, attempt);
        },
        { token },
      ),
    );
    expect(done).toMatchObject({ status: 'done', outcome: { reference: 'pi_1' } });
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(
      /^warn: modelslab\.wallet\.fund: booked pi_1, but tidying up after it failed: SpendStateError: /,
    );
  });

  it('a ledger that cannot be written keeps the charge held and says how to record it', async () => {
    for (const withToken of [false, true]) {
      const config = configWith(join(home, String(withToken)), { autoApproveUsd: withToken ? 0 : 50 });
      const p = provider();
      const token = withToken ? tokenOf(await door(config).charge(fund(25, p.send()))) : undefined;
      await door(config).today();
      const send = p.send();
      const error = await failure(
        door(config).charge(
          fund(
            25,
            async (key, attempt) => {
              await mkdir(ledgerPath(config), { recursive: true });
              return send(key, attempt);
            },
            { token },
          ),
        ),
      );
      expect(error.facts).toEqual([
        'The provider confirmed the charge (pi_1), but it could not be written to the ledger, so it is still held against the cap.',
      ]);
      expect(error.next).toBe(
        `Call modelslab_fund_wallet again with the same arguments${withToken ? ' and confirmation_token' : ''}: ` +
          'the provider replays the same charge (no second one) and it is recorded then.',
      );
      await rm(ledgerPath(config), { recursive: true });
      expect((await door(config).today()).heldUsd).toBe(25);
      await door(config).charge(fund(25, p.send(), { token }));
      expect((await ledgerLines(config)).map((l) => [l.reference, l.replay])).toEqual([['pi_1', true]]);
      expect(p.charged.size).toBe(1);
    }
  });
});

describe('a token used again', () => {
  it('answers "already done" with its charge, found by its key among other charges', async () => {
    const config = configWith(home, { autoApproveUsd: 1 });
    const p = provider();
    await door(config).charge(fund(1, p.send())); // pi_1, another charge before
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    const send = p.send();
    // The token's last write fails (its file is a directory for a while): it never learns its reference.
    await door(config).charge(
      fund(
        25,
        async (key, attempt) => {
          await rm(tokenFile(config, token));
          await mkdir(join(tokenFile(config, token), 'blocker'), { recursive: true });
          return send(key, attempt);
        },
        { token },
      ),
    );
    await rm(tokenFile(config, token), { recursive: true });
    const [, booked] = await ledgerLines(config);
    // Restore the token as it was before its last write: used, with its key, no reference.
    await writeFile(
      tokenFile(config, token),
      JSON.stringify({
        operation: 'modelslab.wallet.fund',
        args_sha256: argsDigest('modelslab.wallet.fund', { amount_usd: 25 }),
        amount_usd: 25,
        amount_micros: 25_000_000,
        expires_at: new Date(Date.now() + 600_000).toISOString(),
        used_at: new Date().toISOString(),
        key_sha256: booked!.key_sha256,
      }),
    );
    const again = await door(config).charge(fund(25, p.send(), { token }));
    expect(again).toEqual({
      status: 'already_done',
      reference: 'pi_2',
      entry: booked,
      text: `Already done: this confirmation_token was used for add $25 to the wallet (pi_2, $25.00 recorded ${String(booked!.time)}). Nothing was charged again.`,
    });
    // It learnt its reference meanwhile.
    expect(JSON.parse(await readFile(tokenFile(config, token), 'utf8'))).toMatchObject({ reference: 'pi_2' });
    expect(p.sent).toHaveLength(2);
  });

  it('after its process died between booking and releasing the hold: hands over that key and memo, once', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    const send = p.send();
    let held: Record<string, unknown> | undefined;
    await door(config).charge(
      fund(
        25,
        async (key, attempt) => {
          await attempt.remember({ credential: 'kept' });
          held = await readHold(config, { amount_usd: 25 });
          return send(key, attempt);
        },
        { token },
      ),
    );
    // The hold as the dead process left it: booked in the ledger, its owner gone.
    const { owner: _, ...orphan } = held!;
    await writeHold(config, { amount_usd: 25 }, orphan);
    const again = await door(config).charge(fund(25, p.send(), { token }));
    expect(again).toMatchObject({
      status: 'already_done',
      reference: 'pi_1',
      earlier: { idempotencyKey: p.sent[0]!.key, memo: { credential: 'kept' } },
    });
    await expect(readFile(holdPath(config, { amount_usd: 25 }))).rejects.toMatchObject({ code: 'ENOENT' });
    const third = await door(config).charge(fund(25, p.send(), { token }));
    expect(third).toMatchObject({ status: 'already_done', reference: 'pi_1' });
    expect(third).not.toHaveProperty('earlier');
    // A hold under another key belongs to another attempt, not to this token's charge: it stays where it is.
    await writeHold(config, { amount_usd: 25 }, { ...orphan, key: 'another-attempt-key' });
    expect(await door(config).charge(fund(25, p.send(), { token }))).not.toHaveProperty('earlier');
    expect(JSON.parse(await readFile(holdPath(config, { amount_usd: 25 }), 'utf8'))).toMatchObject({
      key: 'another-attempt-key',
    });
    // Held by a live process, the hold is that process's to release: nothing is handed over.
    await writeHold(config, { amount_usd: 25 }, { ...orphan, owner: await liveOtherOwner() });
    expect(await door(config).charge(fund(25, p.send(), { token }))).not.toHaveProperty('earlier');
    expect(p.sent).toHaveLength(1);
  });

  it('shows the line of its own charge, not another with the same reference or operation', async () => {
    const config = configWith(home);
    const p = provider();
    await mkdir(spendDir(config), { recursive: true });
    const line = { time: new Date().toISOString(), currency: 'USD', replay: false };
    await appendFile(
      ledgerPath(config),
      `${JSON.stringify({ ...line, provider: 'modelslab', operation: 'modelslab.subscribe', amount: 9, reference: 'pi_1' })}\n` +
        `${JSON.stringify({ ...line, provider: 'modelslab', operation: 'modelslab.wallet.fund', amount: 7, reference: 'pi_0' })}\n`,
    );
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    await door(config).charge(fund(25, p.send(), { token }));
    const again = await door(config).charge(fund(25, p.send(), { token }));
    expect(again).toMatchObject({
      status: 'already_done',
      reference: 'pi_1',
      entry: { operation: 'modelslab.wallet.fund', amount: 25, reference: 'pi_1' },
    });
  });

  it('whose ledger line is gone still answers "already done", without an amount', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    await door(config).charge(fund(25, p.send(), { token }));
    await rm(ledgerPath(config));
    expect(await door(config).charge(fund(25, p.send(), { token }))).toEqual({
      status: 'already_done',
      reference: 'pi_1',
      entry: undefined,
      text: 'Already done: this confirmation_token was used for add $25 to the wallet (pi_1). Nothing was charged again.',
    });
    expect(p.sent).toHaveLength(1);
  });

  it('that is unknown changes nothing: a stale hold is left for a charge to close', async () => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    p.answer(() => lost());
    await failure(door(config, { now: () => T0 }).charge(fund(25, p.send())));
    const later = { now: () => T0 + 25 * HOUR };
    await failure(door(config, later).charge(fund(25, p.send(), { token: 'ct_madeupmadeupmadeup' })));
    expect(await ledgerLines(config)).toEqual([]);
    expect(await readdir(holdsDir(config))).toHaveLength(1);
  });

  it('whose file vanished while it waited for the lock is unknown', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    // Another process holds the spend lock while the token file is removed.
    const lock = join(spendDir(config), 'lock');
    await writeFile(lock, `${await liveOtherOwner()}/123456`);
    const call = door(config).charge(fund(25, p.send(), { token }));
    await sleep(50);
    await rm(tokenFile(config, token));
    await rm(lock);
    const error = await failure(call);
    expect(error).toBeInstanceOf(SpendRefusedError);
    expect(error.message).toBe('This confirmation_token is unknown or has expired; nothing was charged.');
    expect(p.sent).toHaveLength(0);
  });
});

describe('the spend lock of the book', () => {
  it('waits as long as the book says', async () => {
    const config = configWith(home);
    await door(config).today();
    await mkdir(spendDir(config), { recursive: true });
    await writeFile(join(spendDir(config), 'lock'), `${await liveOtherOwner()}/123456`);
    const started = Date.now();
    const error = await failure(door(config, { lockTimeoutMs: 50 }).checkCaps(1));
    expect(error.message).toMatch(/held the spend lock .* for over 0 s\.$/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a key that cannot be let go after a request is logged, and the answer stands', async () => {
    const config = configWith(home);
    const lock = join(spendDir(config), 'lock');
    const owner = await liveOtherOwner();
    const log = recordingLogger();
    const result = await door(config, { log, lockTimeoutMs: 50 }).once({
      operation: 'op',
      args: {},
      send: async () => {
        await writeFile(lock, `${owner}/123456`);
        return 'ok';
      },
    });
    expect(result.value).toBe('ok');
    await result.settled;
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]).toMatch(
      /^warn: could not settle an idempotency key: SpendStateError: Another atelier-mcp/,
    );
    await rm(lock);
  });
});
