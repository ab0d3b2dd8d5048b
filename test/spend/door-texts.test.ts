import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NetworkError, OutcomeUnknownError, SpendRefusedError, UserInputError } from '../../src/errors.js';
import { configWith, door, fund, HOUR, humanSays, provider, tokenOf, failure, removeHome } from './kit.js';

// What the human and the agent read at the spend door: quotes, consent forms, refusals and their next steps.
// These texts are the consent itself (the amount, what is bought, how it is paid) and the only guide out of a
// refusal, so they are asserted whole.

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'atelier-door-texts-'));
});
afterEach(async () => {
  await removeHome(home);
});

const now = Date.parse('2026-12-03T10:00:00.000Z');
const clock = () => now;
const lost = () => new NetworkError('modelslab', 'socket hang up');

describe('a quote', () => {
  it('says what is bought, how it is paid, the caps, the token and until when it is valid', async () => {
    const config = configWith(home);
    const quote = await door(config, { now: clock }).charge(fund(25, provider().send()));
    const token = tokenOf(quote);
    expect(quote.status === 'quote' && quote.text).toBe(
      [
        "Not charged yet: $25.00 USD needs the human's approval.",
        'What: add $25 to the wallet.',
        'Paid with: Visa •••• 4242.',
        'Caps: $0.00 of $100.00 spent today (UTC); at most $50.00 per call.',
        'Ask the human to approve exactly this. Once they do, call modelslab_fund_wallet again with the same arguments plus:',
        `confirmation_token: ${token}`,
        'The token is valid for 10 minutes (until 2026-12-03T10:10:00.000Z), only for these arguments and at most $25.00.',
      ].join('\n'),
    );
    expect(quote.status === 'quote' && quote.expiresAt.toISOString()).toBe('2026-12-03T10:10:00.000Z');
  });

  it('shows what is held, and an identical charge that never got its answer', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config, { now: clock }).charge(fund(40, p.send())));
    p.answer(() => lost());
    await failure(door(config, { now: clock }).charge(fund(40, p.send(), { token })));
    // Approving the identical charge resends that one: its $40 is not counted twice.
    const same = await door(config, { now: clock }).charge(fund(40, p.send()));
    expect(same.status === 'quote' && same.text.split('\n').slice(2, 5)).toEqual([
      'Paid with: Visa •••• 4242.',
      'An identical charge started at 2026-12-03T10:00:00.000Z never got its answer; approving resends it with the same idempotency key, so it cannot be charged twice.',
      'Caps: $0.00 of $100.00 spent today (UTC); at most $50.00 per call.',
    ]);
    const other = await door(config, { now: clock }).charge(fund(10, p.send()));
    expect(other.status === 'quote' && other.text.split('\n').slice(2, 4)).toEqual([
      'Paid with: Visa •••• 4242.',
      'Caps: $0.00 of $100.00 spent today (UTC), $40.00 held; at most $50.00 per call.',
    ]);
    // A day later the provider has forgotten that key: approving would be a new charge.
    const later = () => now + 25 * HOUR;
    const dayAfter = await door(config, { now: later }).charge(fund(40, p.send()));
    expect(dayAfter.status === 'quote' && dayAfter.text.split('\n').slice(2, 4)).toEqual([
      'Paid with: Visa •••• 4242.',
      'Caps: $0.00 of $100.00 spent today (UTC); at most $50.00 per call.',
    ]);
  });
});

describe('the consent form', () => {
  it('asks with the amount, what is bought, how it is paid and the caps', async () => {
    const asked: string[] = [];
    const p = provider();
    const config = configWith(home);
    const result = await door(config, { consent: humanSays('accept', asked) }).charge(fund(25, p.send()));
    expect(asked).toEqual([
      [
        'Approve a charge of $25.00 USD?',
        'What: add $25 to the wallet.',
        'Paid with: Visa •••• 4242.',
        'Caps: $0.00 of $100.00 spent today (UTC); at most $50.00 per call.',
      ].join('\n'),
    ]);
    expect(result).toMatchObject({ status: 'done', consent: 'approved by the human in the client' });
  });

  it('tells the consent which charge the answer approves (a 2026-07-28 round trip binds its state to it)', async () => {
    const charges: unknown[] = [];
    const p = provider();
    const consent = {
      ...humanSays('accept'),
      ask: async (_m: string, charge?: unknown) => (charges.push(charge), 'accept' as const),
    };
    await door(configWith(home), { consent }).charge(fund(25, p.send()));
    expect(charges).toEqual([{ operation: 'modelslab.wallet.fund', amountUsd: 25 }]);
  });

  it('says whether the human declined or dismissed it, and charges nothing', async () => {
    const p = provider();
    const config = configWith(home);
    expect(await door(config, { consent: humanSays('decline') }).charge(fund(25, p.send()))).toEqual({
      status: 'declined',
      text: 'Not charged: the human declined the $25.00 charge (add $25 to the wallet).',
    });
    expect(await door(config, { consent: humanSays('cancel') }).charge(fund(25, p.send()))).toEqual({
      status: 'declined',
      text: 'Not charged: the human dismissed the $25.00 charge (add $25 to the wallet).',
    });
    expect(p.sent).toHaveLength(0);
  });

  it('names how each charge was consented to', async () => {
    const p = provider();
    const auto = await door(configWith(home, { autoApproveUsd: 5 })).charge(fund(5, p.send()));
    expect(auto).toMatchObject({
      status: 'done',
      consent: 'auto-approved (at or under ATELIER_AUTO_APPROVE_USD $5.00)',
    });
    const config = configWith(home);
    const token = tokenOf(await door(config).charge(fund(7, p.send())));
    expect(await door(config).charge(fund(7, p.send(), { token }))).toMatchObject({
      status: 'done',
      consent: 'confirmed with a quoted confirmation_token',
    });
  });
});

describe('refusals', () => {
  it('a price that is not a positive amount', async () => {
    for (const price of [0, -1, Number.NaN, 1e-7]) {
      const error = await failure(door(configWith(home)).charge(fund(price, provider().send())));
      expect(error).toBeInstanceOf(UserInputError);
      expect(error.message).toBe(
        `The price is not a positive amount of USD (${String(price)}); nothing was sent.`,
      );
      expect(error.next).toBe(
        'Check the price with get_pricing or modelslab_list_plans; report the provider answer if it persists.',
      );
    }
    for (const price of [0, -1, 1e-7]) {
      const error = await failure(door(configWith(home)).checkCaps(price));
      expect(error).toBeInstanceOf(UserInputError);
      expect(error.message).toBe(`The price is not a positive amount of USD (${String(price)}).`);
    }
  });

  it('above the per-call cap', async () => {
    const error = await failure(
      door(configWith(home, { maxUsdPerCall: 20 })).charge(fund(20.01, provider().send())),
    );
    expect(error).toBeInstanceOf(SpendRefusedError);
    expect(error.message).toBe('$20.01 is above the per-call cap ATELIER_MAX_USD_PER_CALL ($20.00).');
    expect(error.next).toBe(
      'Use a smaller amount, or ask the human to raise ATELIER_MAX_USD_PER_CALL and restart the server.',
    );
  });

  it('past the daily cap: what is spent, what is held, what is left', async () => {
    const config = configWith(home, { maxUsdPerDay: 50, autoApproveUsd: 50 });
    const p = provider();
    await door(config).charge(fund(10, p.send(), { args: { n: 1 } }));
    p.answer(() => lost());
    await failure(door(config).charge(fund(15, p.send(), { args: { n: 2 } })));
    p.answer(() => 'ok');
    const error = await failure(door(config).charge(fund(25.01, p.send(), { args: { n: 3 } })));
    expect(error).toBeInstanceOf(SpendRefusedError);
    expect(error.message).toBe(
      '$25.01 would pass the daily cap ATELIER_MAX_USD_PER_DAY ($50.00): $10.00 spent today (UTC), ' +
        '$15.00 held by payments in progress or with an unknown outcome, $25.00 left.',
    );
    expect(error.next).toBe(
      "Try a smaller amount or wait for the next UTC day; spend_report lists today's charges and holds.",
    );
    // Exactly what is left still fits.
    await expect(door(config).charge(fund(25, p.send(), { args: { n: 3 } }))).resolves.toMatchObject({
      status: 'done',
    });
  });

  it('past a daily cap lowered below what is already spent: nothing held, nothing left', async () => {
    const p = provider();
    await door(configWith(home, { autoApproveUsd: 50 })).charge(fund(30, p.send()));
    const lowered = configWith(home, { maxUsdPerDay: 20, maxUsdPerCall: 20 });
    const error = await failure(door(lowered).checkCaps(5));
    expect(error.message).toBe(
      '$5.00 would pass the daily cap ATELIER_MAX_USD_PER_DAY ($20.00): $30.00 spent today (UTC), $0.00 left.',
    );
  });

  it('a token quoted for other arguments', async () => {
    const config = configWith(home);
    const token = tokenOf(await door(config).charge(fund(25, provider().send())));
    const error = await failure(
      door(config).charge(fund(25, provider().send(), { token, args: { amount_usd: 25, card: 'other' } })),
    );
    expect(error).toBeInstanceOf(SpendRefusedError);
    expect(error.message).toBe(
      'This confirmation_token was quoted for other arguments ($25.00 for modelslab.wallet.fund); ' +
        'a token confirms only what it was quoted for. Nothing was charged.',
    );
    expect(error.next).toBe(
      'Call modelslab_fund_wallet without confirmation_token for a quote of these arguments, and show it to the human.',
    );
  });

  it('an unknown token, and an expired one (at ten minutes exactly)', async () => {
    const config = configWith(home);
    const again =
      'Call modelslab_fund_wallet again without confirmation_token for a new quote, and show it to the human.';
    const unknown = await failure(
      door(config).charge(fund(25, provider().send(), { token: 'ct_madeupmadeup' })),
    );
    expect(unknown).toBeInstanceOf(SpendRefusedError);
    expect(unknown.message).toBe('This confirmation_token is unknown or has expired; nothing was charged.');
    expect(unknown.next).toBe(again);

    const token = tokenOf(await door(config, { now: clock }).charge(fund(25, provider().send())));
    const justBefore = () => now + 10 * 60 * 1000 - 1;
    const p = provider();
    const expired = await failure(
      door(config, { now: () => now + 10 * 60 * 1000 }).charge(fund(25, p.send(), { token })),
    );
    expect(expired.message).toBe(
      'This confirmation_token has expired (tokens last 10 minutes); nothing was charged.',
    );
    expect(expired.next).toBe(again);
    expect(p.sent).toHaveLength(0);
    await expect(
      door(config, { now: justBefore }).charge(fund(25, p.send(), { token })),
    ).resolves.toMatchObject({
      status: 'done',
    });
  });
});

describe('an outcome that is not known', () => {
  it.each([
    ['a lost answer', () => lost(), 'OUTCOME UNKNOWN: the'],
    ['an answer that does not confirm', () => new OutcomeUnknownError('HTML page'), 'The'],
  ])('after %s says the charge is held and how to settle it', async (_, error, start) => {
    const config = configWith(home, { autoApproveUsd: 50 });
    const p = provider();
    p.answer(error);
    const plain = await failure(door(config).charge(fund(25, p.send())));
    expect(plain.facts).toEqual([
      `${start} $25.00 charge (add $25 to the wallet) may have gone through; it is held against today's cap until it is settled.`,
    ]);
    expect(plain.next).toBe(
      'Call modelslab_fund_wallet again with the same arguments: it resends the same request with the same ' +
        'Idempotency-Key, so the provider answers it instead of charging again. spend_report shows it as held.',
    );
  });

  it('with a token, says to call again with the same token', async () => {
    const config = configWith(home);
    const p = provider();
    const token = tokenOf(await door(config).charge(fund(25, p.send())));
    p.answer(() => lost());
    const error = await failure(door(config).charge(fund(25, p.send(), { token })));
    expect(error.next).toBe(
      'Call modelslab_fund_wallet again with the same arguments and the same confirmation_token: it resends the ' +
        'same request with the same Idempotency-Key, so the provider answers it instead of charging again. ' +
        'spend_report shows it as held.',
    );
  });
});
