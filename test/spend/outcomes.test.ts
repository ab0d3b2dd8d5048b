import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import {
  ConfigurationError,
  DeadlineError,
  NetworkError,
  OutcomeUnknownError,
  ProviderError,
  SpendRefusedError,
  SpendStateError,
  UnexpectedError,
  UserInputError,
} from '../../src/errors.js';
import { formatError } from '../../src/error-format.js';
import { silentLogger } from '../../src/log.js';
import { spendDir } from '../../src/spend/home.js';
import { argsDigest } from '../../src/spend/idempotency.js';
import {
  openSpendBook,
  type ChargeAttempt,
  type ChargeOutcome,
  type ChargeRequest,
  type Consent,
} from '../../src/spend/index.js';
import { failureClass, nothingSent, type FailureClass } from '../../src/spend/outcome.js';
import { removeHome } from './kit.js';

// The one charge door, walked through every outcome class a provider's answer can fall in, and through the
// states a crash or a lying upstream leaves behind. The provider here is a fake that records every key it
// was sent and charges once per new key, like an idempotent payment API.

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'atelier-outcomes-'));
});
afterEach(async () => {
  await removeHome(home);
});

const configWith = (over: Partial<Config> = {}): Config => ({ ...loadConfig({}, {}, home), home, ...over });
const noHuman: Consent = {
  canAsk: () => false,
  ask: () => Promise.reject(new Error('no human here')),
  canOpenUrl: () => false,
  openUrl: () => Promise.reject(new Error('no human here')),
};
const door = (config: Config, now?: () => number) =>
  openSpendBook(config, silentLogger, { now }).withConsent(noHuman);

const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const status = (s: number, extra: Partial<ProviderError> = {}) =>
  Object.assign(
    new ProviderError({ provider: 'modelslab', status: s, code: `http_${s}`, message: `HTTP ${s}` }),
    extra,
  );

describe('the outcome classes', () => {
  it.each<[string, unknown, FailureClass]>([
    ['a 4xx refusal', status(402), 'refused'],
    ['a 200 that says "error"', status(200), 'refused'],
    [
      'a 2xx whose body was cut off',
      new ProviderError({ provider: 'modelslab', status: 200, code: 'truncated_response', message: 'cut' }),
      'unknown',
    ],
    ['a redirect', status(302), 'unknown'],
    ['a 408, first attempt', status(408), 'not sent'],
    ['a 429, first attempt', status(429), 'not sent'],
    ['a 429 after an attempt that got no answer', status(429, { earlierAttemptUnknown: true }), 'unknown'],
    ['a 408 after an attempt that got no answer', status(408, { earlierAttemptUnknown: true }), 'unknown'],
    ['a 500', status(500), 'unknown'],
    ['a 504', status(504), 'unknown'],
    [
      'a provider error without a status',
      new ProviderError({ provider: 'pixelmuse', message: 'odd' }),
      'unknown',
    ],
    ['an answer that does not confirm the charge', new OutcomeUnknownError('no'), 'unknown'],
    ['a reset after the request left', new NetworkError('modelslab', 'reset', { cause: reset }), 'unknown'],
    [
      'a refused connection (never left)',
      new NetworkError('modelslab', 'refused', { cause: refused }),
      'not sent',
    ],
    [
      'a deadline while the request was out',
      new DeadlineError('modelslab', 'late', { mayHaveReached: true }),
      'unknown',
    ],
    [
      'a deadline before it was sent',
      new DeadlineError('modelslab', 'late', { mayHaveReached: false }),
      'not sent',
    ],
    ['a 500 marked as before the payment', nothingSent(status(500)), 'not sent'],
    ['our cap', new SpendRefusedError('cap'), 'not sent'],
    ['bad input', new UserInputError('bad'), 'not sent'],
    ['missing settings', new ConfigurationError('no key', { next: 'set it' }), 'not sent'],
    ['an unreadable spend file', new SpendStateError('/x', 'torn'), 'not sent'],
    ['a bug of ours after sending', new UnexpectedError('oops'), 'unknown'],
    ['a cancel', Object.assign(new Error('aborted'), { name: 'AbortError' }), 'unknown'],
  ])('%s is %s', (_, error, expected) => {
    expect(failureClass(error)).toBe(expected);
  });
});

/** A provider that charges once per new key and replays a key it has seen; `answer` decides what comes back. */
function provider() {
  const charged = new Map<string, string>();
  const sent: Array<{ key: string; attempt: ChargeAttempt }> = [];
  let answer: (key: string) => 'ok' | Error = () => 'ok';
  return {
    sent,
    charged,
    answer(fn: (key: string) => 'ok' | Error) {
      answer = fn;
    },
    send(reportedUsd?: number) {
      return async (key: string, attempt: ChargeAttempt): Promise<ChargeOutcome<string>> => {
        sent.push({ key, attempt });
        const what = answer(key);
        // The charge happens before the answer is lost, unless the error says nothing was sent.
        if (!(what instanceof Error) || failureClass(what) === 'unknown') {
          if (!charged.has(key)) charged.set(key, `pi_${charged.size + 1}`);
        }
        if (what instanceof Error) throw what;
        return { kind: 'confirmed', reference: charged.get(key)!, reportedUsd, replay: false, value: 'ok' };
      };
    },
  };
}

function fund(
  amountUsd: number,
  send: ChargeRequest<string>['send'],
  token?: string,
  args: Record<string, unknown> = { amount_usd: amountUsd },
): ChargeRequest<string> {
  return {
    provider: 'modelslab',
    operation: 'modelslab.wallet.fund',
    tool: 'modelslab_fund_wallet',
    amountUsd,
    args,
    what: `add $${amountUsd} to the wallet`,
    paymentMethod: 'Visa •••• 4242',
    confirmationToken: token,
    send,
  };
}

/** The text the agent would read for this failure. */
const failureText = (call: Promise<unknown>) =>
  call.then(
    () => 'no failure',
    (e: unknown) => formatError(e),
  );
const tokenOf = (result: unknown) => {
  const r = result as { status: string; token?: string };
  expect(r.status).toBe('quote');
  return r.token!;
};
const ledgerLines = async (config: Config) =>
  ((await readFile(join(spendDir(config), 'ledger.jsonl'), 'utf8').catch(() => '')) as string)
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the charge door, per class', () => {
  it.each<[string, () => Error, { held: boolean; tokenAfter: 'burned' | 'usable' | 'kept' }]>([
    ['a refusal', () => status(402), { held: false, tokenAfter: 'burned' }],
    ['a 429 not processed', () => status(429), { held: false, tokenAfter: 'usable' }],
    [
      'a network error before the request left',
      () => new NetworkError('modelslab', 'x', { cause: refused }),
      { held: false, tokenAfter: 'usable' },
    ],
    ['a 5xx', () => status(503), { held: true, tokenAfter: 'kept' }],
    [
      'a lost answer',
      () => new NetworkError('modelslab', 'x', { cause: reset }),
      { held: true, tokenAfter: 'kept' },
    ],
    ['an unconfirmed 2xx', () => new OutcomeUnknownError('HTML'), { held: true, tokenAfter: 'kept' }],
  ])('after %s', async (_, failure, expected) => {
    const config = configWith({ maxUsdPerDay: 40 });
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    p.answer(() => failure());
    await expect(door(config).charge(fund(25, p.send(), token))).rejects.toThrow();
    expect((await door(config).today()).heldUsd).toBe(expected.held ? 25 : 0);
    expect(await ledgerLines(config)).toHaveLength(0);
    // Held or not decides whether another $20 fits under the $40 day cap.
    const other = door(config).charge(fund(20, p.send(), undefined, { amount_usd: 20, n: 2 }));
    if (expected.held) await expect(other).rejects.toThrow(/daily cap/);
    else await expect(other).resolves.toMatchObject({ status: 'quote' });

    p.answer(() => 'ok');
    const again = door(config).charge(fund(25, p.send(), token));
    if (expected.tokenAfter === 'burned') {
      await expect(again).rejects.toThrow(/refused that charge/);
      expect(p.charged.size).toBe(0);
      return;
    }
    await expect(again).resolves.toMatchObject({ status: 'done' });
    // Kept: the same key went out again, so the provider replayed rather than charged.
    const keys = p.sent.map((s) => s.key);
    if (expected.tokenAfter === 'kept') expect(new Set(keys).size).toBe(1);
    expect(p.charged.size).toBe(1);
    expect(await ledgerLines(config)).toHaveLength(1);
    expect((await door(config).today()).heldUsd).toBe(0);
  });

  it('a 429 on the resend of an unknown charge leaves it unknown and held', async () => {
    const config = configWith();
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    p.answer(() => status(503));
    await expect(door(config).charge(fund(25, p.send(), token))).rejects.toThrow();
    p.answer(() => status(429));
    expect(await failureText(door(config).charge(fund(25, p.send(), token)))).toMatch(/OUTCOME UNKNOWN/);
    expect((await door(config).today()).heldUsd).toBe(25);
    p.answer(() => 'ok');
    await expect(door(config).charge(fund(25, p.send(), token))).resolves.toMatchObject({ status: 'done' });
    expect(new Set(p.sent.map((s) => s.key)).size).toBe(1);
  });
});

describe('what the human approved is what counts', () => {
  it('a token covers at most the amount quoted: a higher price gets a new quote, nothing sent', async () => {
    const config = configWith();
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(0.1, p.send(), undefined, { model: 'flux' })));
    const raised = await door(config).charge(fund(40, p.send(), token, { model: 'flux' }));
    expect(raised).toMatchObject({ status: 'quote' });
    expect(raised.status === 'quote' && raised.text).toMatch(
      /^The price changed: \$0\.10 was approved, .* now costs \$40\.00/,
    );
    expect(p.sent).toHaveLength(0);
    // The same price, or a lower one, goes through with the approved limit handed to the request.
    const done = await door(config).charge(fund(0.08, p.send(), token, { model: 'flux' }));
    expect(done.status).toBe('done');
    expect(p.sent[0]!.attempt.approvedUsd).toBe(0.08);
  });

  it('a charge whose answer was lost holds its amount: $40 lost, then $45 is refused under a $50 cap', async () => {
    const config = configWith({ maxUsdPerDay: 50, autoApproveUsd: 50 });
    const p = provider();
    p.answer(() => new NetworkError('modelslab', 'lost', { cause: reset }));
    expect(await failureText(door(config).charge(fund(40, p.send())))).toMatch(/OUTCOME UNKNOWN/);
    p.answer(() => 'ok');
    await expect(door(config).charge(fund(45, p.send(), undefined, { amount_usd: 45 }))).rejects.toThrow(
      /\$45\.00 would pass the daily cap .* \$40\.00 held/,
    );
    // The same $40 again is a replay of the held one, not a second $40.
    await expect(door(config).charge(fund(40, p.send()))).resolves.toMatchObject({ status: 'done' });
    expect(p.charged.size).toBe(1);
    expect((await door(config).today()).spentUsd).toBe(40);
  });

  it.each([0.01, 0, -1000, 1e9, Number.NaN])(
    'books the approved $20, not the %s the provider reports, and caps count the $20',
    async (reported) => {
      const config = configWith({ maxUsdPerDay: 30, autoApproveUsd: 50 });
      const p = provider();
      await door(config).charge(fund(20, p.send(reported)));
      const [line] = await ledgerLines(config);
      expect(line).toMatchObject({ amount: 20 });
      expect(line!.reported_amount).toBe(Number.isNaN(reported) ? null : reported);
      expect((await door(config).today()).spentUsd).toBe(20);
      await expect(
        door(config).charge(fund(20, p.send(), undefined, { amount_usd: 20, n: 2 })),
      ).rejects.toThrow(/daily cap/);
    },
  );

  it('a sub-cent price needs consent unless ATELIER_AUTO_APPROVE_USD covers it', async () => {
    const p = provider();
    const quote = await door(configWith()).charge(fund(0.004, p.send()));
    expect(quote.status === 'quote' && quote.text).toContain('Not charged yet: $0.004 USD');
    expect(p.sent).toHaveLength(0);
    const auto = await door(configWith({ autoApproveUsd: 0.01 })).charge(fund(0.004, p.send()));
    expect(auto.status).toBe('done');
    expect(await door(configWith({ autoApproveUsd: 0.003 })).charge(fund(0.004, p.send()))).toMatchObject({
      status: 'quote',
    });
  });

  it.each([0, -5, Number.NaN, Number.POSITIVE_INFINITY, 1e-9])(
    'refuses a price of %s before anything is sent or approved',
    async (price) => {
      const p = provider();
      await expect(
        door(configWith({ autoApproveUsd: 50 })).charge(fund(price, p.send())),
      ).rejects.toBeInstanceOf(UserInputError);
      expect(p.sent).toHaveLength(0);
    },
  );
});

describe('files that money depends on fail closed', () => {
  it('an unreadable ledger line blocks charges and names the file and line', async () => {
    const config = configWith({ autoApproveUsd: 50 });
    const p = provider();
    await door(config).charge(fund(10, p.send()));
    const path = join(spendDir(config), 'ledger.jsonl');
    await appendFile(
      path,
      `${JSON.stringify({ time: new Date().toISOString(), amount: 'abc', currency: 'USD', provider: 'x', reference: 'r' })}\n`,
    );
    await expect(door(config).charge(fund(5, p.send(), undefined, { n: 2 }))).rejects.toThrow(
      `${path}:2: amount "abc"`,
    );
    await expect(door(config).checkCaps(1)).rejects.toBeInstanceOf(SpendStateError);
    expect(p.sent).toHaveLength(1);
    const overview = await door(config).overview();
    expect(overview.problems).toEqual([`${path}:2: amount "abc"`]);
    expect(overview.entries).toHaveLength(1);
  });

  it('an unreadable record of an earlier charge sends nothing and names it', async () => {
    const config = configWith({ autoApproveUsd: 50 });
    const p = provider();
    const dir = join(spendDir(config), 'idempotency');
    await mkdir(dir, { recursive: true });
    const path = join(dir, `${argsDigest('modelslab.wallet.fund', { amount_usd: 25 })}.json`);
    await writeFile(path, '{"key":"atelier-modelslab-wal');
    await expect(door(config).charge(fund(25, p.send()))).rejects.toThrow(path);
    expect(p.sent).toHaveLength(0);
  });

  it('an unreadable pending 3-D Secure record blocks charges and names it', async () => {
    const config = configWith({ autoApproveUsd: 50 });
    const dir = join(spendDir(config), 'pending');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'pi_x.json'), '{"amount":');
    await expect(door(config).charge(fund(25, provider().send()))).rejects.toThrow(join(dir, 'pi_x.json'));
  });
});

describe('crash points', () => {
  it('a charge booked but whose token was never updated answers "already done" and sends nothing', async () => {
    const config = configWith();
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    // While the charge is out, the token's file is replaced by a directory: its last write will fail.
    const tokens = join(spendDir(config), 'confirmations');
    const [file] = await readdir(tokens);
    const wrecked = async (key: string, attempt: ChargeAttempt) => {
      const saved = await readFile(join(tokens, file!), 'utf8');
      await rm(join(tokens, file!));
      await mkdir(join(tokens, file!, 'blocker'), { recursive: true });
      const out = await p.send()(key, attempt);
      restore = async () => {
        await rm(join(tokens, file!), { recursive: true });
        await writeFile(join(tokens, file!), saved);
      };
      return out;
    };
    let restore = async () => {};
    // The charge is booked: the result says so, whatever happened to the token's file after.
    await expect(door(config).charge(fund(25, wrecked, token))).resolves.toMatchObject({ status: 'done' });
    await restore();
    const again = await door(config).charge(fund(25, p.send(), token));
    expect(again).toMatchObject({ status: 'already_done', reference: 'pi_1' });
    expect(p.sent).toHaveLength(1);
    expect(await ledgerLines(config)).toHaveLength(1);
    expect((await door(config).today()).heldUsd).toBe(0);
  });

  it('a token used but whose charge left no record at all is an unknown outcome: nothing is sent', async () => {
    const config = configWith();
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    p.answer(() => new NetworkError('modelslab', 'lost', { cause: reset }));
    await expect(door(config).charge(fund(25, p.send(), token))).rejects.toThrow();
    // The hold (with its key) is gone, the ledger has nothing: the token cannot know what happened.
    await rm(join(spendDir(config), 'idempotency'), { recursive: true });
    p.answer(() => 'ok');
    const again = door(config).charge(fund(25, p.send(), token));
    await expect(again).rejects.toBeInstanceOf(OutcomeUnknownError);
    await expect(again).rejects.toThrow(/outcome was never recorded/);
    expect(p.sent).toHaveLength(1);
  });

  it('a hold left by a dead process is resent with its key, and its memo', async () => {
    const config = configWith({ autoApproveUsd: 50 });
    const p = provider();
    p.answer(() => new NetworkError('modelslab', 'lost', { cause: reset }));
    await expect(
      door(config).charge(
        fund(25, async (key, attempt) => {
          await attempt.remember({ credential: 'Payment abc', sends: 1 });
          return p.send()(key, attempt);
        }),
      ),
    ).rejects.toThrow();
    // A dead owner, as a SIGKILL would leave it mid-request.
    const dir = join(spendDir(config), 'idempotency');
    const [file] = await readdir(dir);
    const stored = JSON.parse(await readFile(join(dir, file!), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, file!), JSON.stringify({ ...stored, owner: '999999/-/abcdef' }));
    p.answer(() => 'ok');
    await expect(door(config).charge(fund(25, p.send()))).resolves.toMatchObject({ status: 'done' });
    expect(p.sent[1]!.key).toBe(p.sent[0]!.key);
    expect(p.sent[1]!.attempt.memo).toEqual({ credential: 'Payment abc', sends: 1 });
    expect(p.charged.size).toBe(1);
  });

  it('a hold whose outcome stayed unknown for a day is booked as spent on its day, and its key let go', async () => {
    let now = Date.parse('2026-12-01T10:00:00Z');
    const config = configWith({ autoApproveUsd: 50 });
    const p = provider();
    p.answer(() => status(503));
    await expect(door(config, () => now).charge(fund(25, p.send()))).rejects.toThrow();
    now += 25 * 60 * 60 * 1000;
    p.answer(() => 'ok');
    await door(config, () => now).charge(fund(10, p.send(), undefined, { amount_usd: 10 }));
    const lines = await ledgerLines(config);
    expect(lines[0]).toMatchObject({ amount: 25, outcome: 'unknown', time: '2026-12-01T10:00:00.000Z' });
    expect((await door(config, () => now).today()).heldUsd).toBe(0);
  });
});

describe('a charge the ledger could not record', () => {
  it('is recorded by the next identical call of the same server, not refused as in progress', async () => {
    const config = configWith({ autoApproveUsd: 50 });
    const p = provider();
    const ledger = join(spendDir(config), 'ledger.jsonl');
    const send = p.send();
    // The ledger cannot be written while the answer comes back (a full disk, a failing mount).
    const failed = door(config).charge(
      fund(25, async (key, attempt) => {
        await mkdir(ledger, { recursive: true });
        return send(key, attempt);
      }),
    );
    expect(await failureText(failed)).toMatch(/could not be written to the ledger, so it is still held/);
    await rm(ledger, { recursive: true });
    expect((await door(config).today()).heldUsd).toBe(25);
    // As the error says: the same call again replays the charge and records it.
    await expect(door(config).charge(fund(25, p.send()))).resolves.toMatchObject({ status: 'done' });
    expect(p.charged.size).toBe(1);
    expect(await ledgerLines(config)).toMatchObject([{ amount: 25, reference: 'pi_1', replay: true }]);
    expect((await door(config).today()).heldUsd).toBe(0);
  });
});
