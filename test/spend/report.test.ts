import { describe, expect, it } from 'vitest';
import type { LedgerEntry, SpendOverview, SpendToday } from '../../src/spend/index.js';
import { renderSpendReport, standingLines, todayLine } from '../../src/spend/report.js';

const charge = (over: Partial<LedgerEntry>): LedgerEntry => ({
  time: '2026-12-03T10:00:00.000Z',
  provider: 'modelslab',
  operation: 'modelslab.wallet.fund',
  amount: 25,
  currency: 'USD',
  reference: 'pi_1',
  replay: false,
  ...over,
});

const today: SpendToday = {
  day: '2026-12-03',
  spentUsd: 35,
  heldUsd: 0,
  maxPerDayUsd: 100,
  maxPerCallUsd: 50,
  autoApproveUsd: 0,
};

const overview = (over: Partial<SpendOverview>): SpendOverview => ({
  entries: [],
  problems: [],
  held: [],
  standing: [],
  ...over,
});

describe("today's line", () => {
  it('says the spend against the caps, what is held, and what needs approval', () => {
    expect(todayLine(today)).toBe(
      'Spend today (2026-12-03 UTC): $35.00 of $100.00 (ATELIER_MAX_USD_PER_DAY); at most $50.00 per call; every charge needs approval.',
    );
    expect(todayLine({ ...today, heldUsd: 0.004, autoApproveUsd: 2.5 })).toBe(
      'Spend today (2026-12-03 UTC): $35.00 of $100.00 (ATELIER_MAX_USD_PER_DAY), $0.004 held by payments in progress; ' +
        'at most $50.00 per call; charges up to $2.50 need no approval.',
    );
  });
});

describe('the spend report', () => {
  it('totals per UTC day and provider, newest day first, and lists each charge with what it was', () => {
    const text = renderSpendReport(
      overview({
        entries: [
          charge({ time: '2026-12-02T23:59:59.999Z', reference: 'pi_old', description: 'add $25.00' }),
          charge({ amount: 10, reference: 'pi_2', replay: true }),
          charge({
            time: '2026-12-02T09:00:00.000Z',
            provider: 'pixelmuse',
            operation: 'pixelmuse.mpp',
            reference: 'pi_3',
            amount: 0.5,
            currency: 'usd',
          }),
          charge({
            time: '2026-12-03T11:00:00.000Z',
            provider: 'pixelmuse',
            operation: 'pixelmuse.credits',
            amount: 12.5,
            currency: 'EUR',
            reference: 'cs_1',
            outcome: 'unknown',
            reported_amount: { amount: '12.50', note: 'a long provider figure' },
          }),
          charge({ time: '2026-12-03T12:00:00.000Z', reference: 'pi_4', amount: 5, reported_amount: 4.99 }),
        ],
      }),
      today,
      { days: 2 },
    );
    expect(text).toBe(
      [
        todayLine(today),
        '',
        'Per day (UTC) and provider, last 2 day(s):',
        '- 2026-12-03 pixelmuse: 12.50 EUR (1 charge)',
        '- 2026-12-03 modelslab: $15.00 (2 charges)',
        '- 2026-12-02 pixelmuse: $0.50 (1 charge)',
        '- 2026-12-02 modelslab: $25.00 (1 charge)',
        '',
        'Charges, newest first:',
        '- 2026-12-03T12:00:00.000Z modelslab modelslab.wallet.fund $5.00 pi_4 (the provider reported 4.99)',
        '- 2026-12-03T11:00:00.000Z pixelmuse pixelmuse.credits 12.50 EUR cs_1 (outcome never known: counted as spent)' +
          ' (the provider reported {"amount":"12.50","note")',
        '- 2026-12-03T10:00:00.000Z modelslab modelslab.wallet.fund $10.00 pi_2 (idempotent replay: one charge, not a second)',
        '- 2026-12-02T23:59:59.999Z modelslab modelslab.wallet.fund $25.00 pi_old: add $25.00',
        '- 2026-12-02T09:00:00.000Z pixelmuse pixelmuse.mpp $0.50 pi_3',
      ].join('\n'),
    );
  });

  it('sums several currencies of one day and provider separately', () => {
    const text = renderSpendReport(
      overview({
        entries: [
          charge({ amount: 1.25 }),
          charge({ amount: 2.5, currency: 'EUR', reference: 'pi_2' }),
          charge({ amount: 0.75, reference: 'pi_3' }),
        ],
      }),
      today,
      { days: 1 },
    );
    expect(text).toContain('- 2026-12-03 modelslab: $2.00 + 2.50 EUR (3 charges)');
  });

  it('counts days back from the start of today (UTC): one day is today only', () => {
    const entries = [
      charge({ time: '2026-12-03T00:00:00.000Z', reference: 'pi_midnight' }),
      charge({ time: '2026-12-02T23:59:59.999Z', reference: 'pi_yesterday' }),
      charge({ time: '2026-12-02T00:00:00.000Z', reference: 'pi_yesterday_start' }),
      charge({ time: '2026-12-01T23:59:59.999Z', reference: 'pi_before' }),
    ];
    const one = renderSpendReport(overview({ entries }), today, { days: 1 });
    expect(one).toContain('pi_midnight');
    expect(one).not.toContain('pi_yesterday');
    const two = renderSpendReport(overview({ entries }), today, { days: 2 });
    expect(two).toContain('pi_yesterday_start');
    expect(two).not.toContain('pi_before');
    expect(two).toContain('- 2026-12-02 modelslab: $50.00 (2 charges)');
  });

  it('keeps to one provider when asked, and says so when it has nothing', () => {
    const entries = [charge({}), charge({ provider: 'pixelmuse', reference: 'pi_p' })];
    const only = renderSpendReport(overview({ entries }), today, { days: 30, provider: 'pixelmuse' });
    expect(only).toContain('pi_p');
    expect(only).not.toContain('pi_1');
    expect(
      renderSpendReport(overview({ entries: [charge({})] }), today, { days: 7, provider: 'pixelmuse' }),
    ).toBe(`${todayLine(today)}\nNo charges in the last 7 day(s) for pixelmuse.`);
    expect(renderSpendReport(overview({}), today, { days: 30 })).toBe(
      `${todayLine(today)}\nNo charges in the last 30 day(s).`,
    );
  });

  it('lists the newest 20 charges and says how many there are', () => {
    const entries = Array.from({ length: 21 }, (_, i) =>
      charge({ time: `2026-12-03T10:${String(i).padStart(2, '0')}:00.000Z`, reference: `pi_n${i}` }),
    );
    const text = renderSpendReport(overview({ entries }), today, { days: 1 });
    expect(text).toContain('Charges, newest first (20 of 21):');
    expect(text).toContain('- 2026-12-03 modelslab: $525.00 (21 charges)');
    expect(text).toContain('pi_n20');
    expect(text).toMatch(/ pi_n1$/m);
    expect(text).not.toMatch(/ pi_n0$/m);
    expect(text.indexOf('pi_n20')).toBeLessThan(text.indexOf('pi_n19'));
    const twenty = renderSpendReport(overview({ entries: entries.slice(1) }), today, { days: 1 });
    expect(twenty).toContain('Charges, newest first:');
  });

  it('lists what is held, and how to settle an unknown outcome', () => {
    const held: SpendOverview['held'] = [
      { amountUsd: 25, state: 'in flight', since: '2026-12-03T10:00:00.000Z', description: 'add $25.00' },
      {
        amountUsd: 0.04,
        state: 'waiting for 3-D Secure',
        since: '2026-12-03T09:00:00.000Z',
        description: 'add $0.04',
        reference: 'pi_3ds',
      },
    ];
    expect(renderSpendReport(overview({ held }), today, { days: 30 })).toBe(
      [
        todayLine(today),
        '',
        'Held against the daily cap until settled:',
        '- $25.00 in flight since 2026-12-03T10:00:00.000Z: add $25.00',
        '- $0.04 waiting for 3-D Secure since 2026-12-03T09:00:00.000Z: add $0.04 (pi_3ds)',
        'No charges in the last 30 day(s).',
      ].join('\n'),
    );
    const unknown = renderSpendReport(
      overview({ held: [{ ...held[0]!, state: 'outcome unknown' }, held[1]!] }),
      today,
      { days: 30 },
    );
    expect(unknown).toContain(
      '- $25.00 outcome unknown since 2026-12-03T10:00:00.000Z: add $25.00\n' +
        '- $0.04 waiting for 3-D Secure since 2026-12-03T09:00:00.000Z: add $0.04 (pi_3ds)\n' +
        'An outcome is settled by making the same call again (it resends the same Idempotency-Key, so the provider answers instead of charging twice).',
    );
  });

  it('without today (an unreadable ledger) says charges are blocked, lists ten problems, and counts days from now', () => {
    const problems = Array.from({ length: 12 }, (_, i) => `/x/ledger.jsonl:${i + 1}: not JSON`);
    const text = renderSpendReport(
      overview({ problems, entries: [charge({ time: '2026-12-04T01:00:00.000Z', reference: 'pi_now' })] }),
      undefined,
      { days: 1, now: new Date('2026-12-04T08:00:00.000Z') },
    );
    expect(text).toBe(
      [
        "CHARGES ARE BLOCKED: the ledger has lines that cannot be read, so today's spend is unknown:",
        ...problems.slice(0, 10).map((p) => `- ${p}`),
        'Next: repair or remove those lines (check each charge with the provider first); the readable ones follow.',
        '',
        'Per day (UTC) and provider, last 1 day(s):',
        '- 2026-12-04 modelslab: $25.00 (1 charge)',
        '',
        'Charges, newest first:',
        '- 2026-12-04T01:00:00.000Z modelslab modelslab.wallet.fund $25.00 pi_now',
      ].join('\n'),
    );
  });

  it('without today or a given time, counts days from the clock', () => {
    const now = new Date();
    const text = renderSpendReport(
      overview({ problems: ['p'], entries: [charge({ time: now.toISOString(), reference: 'pi_now' })] }),
      undefined,
      { days: 1 },
    );
    expect(text).toContain('pi_now');
  });
});

describe('sub-cent charges in the totals', () => {
  it('add up to what was spent: 250 charges of $0.004 are $1.00, not $0.00', () => {
    const entries = Array.from({ length: 250 }, (_, i) =>
      charge({ provider: 'pixelmuse', operation: 'pixelmuse.mpp', amount: 0.004, reference: `pi_${i}` }),
    );
    const text = renderSpendReport(overview({ entries }), today, { days: 1 });
    expect(text).toContain('- 2026-12-03 pixelmuse: $1.00 (250 charges)');
    const one = renderSpendReport(overview({ entries: entries.slice(0, 1) }), today, { days: 1 });
    expect(one).toContain('- 2026-12-03 pixelmuse: $0.004 (1 charge)');
  });
});

describe('standing authorisations and credits in the report', () => {
  const standing: SpendOverview['standing'] = [
    {
      provider: 'modelslab',
      operation: 'modelslab.wallet.auto_funding',
      amount: 50,
      trigger: 'the ModelsLab wallet falls under $10.00',
      description: 'ModelsLab wallet auto-funding',
      paid_with: 'Visa •••• 4242 (pm_1)',
      reference: 'req_1',
      since: '2026-12-03T09:00:00.000Z',
    },
  ];
  const credit = (over: Partial<LedgerEntry>) =>
    charge({ operation: 'modelslab.coupon.redeem', kind: 'credit', amount: 10, reference: 'txn_1', ...over });

  it('shows what is on and the credits apart from the charges, which they do not add to', () => {
    const text = renderSpendReport(
      overview({
        standing,
        entries: [
          charge({}),
          credit({ time: '2026-12-03T08:00:00.000Z', description: 'coupon SPRING' }),
          credit({ time: '2026-12-03T11:00:00.000Z', reference: 'txn_2', amount: 5 }),
        ],
      }),
      today,
      { days: 1 },
    );
    expect(text).toBe(
      [
        todayLine(today),
        '',
        ...standingLines(standing),
        '',
        'Credits (value added without a charge; counted in no cap):',
        '- 2026-12-03T11:00:00.000Z modelslab modelslab.coupon.redeem +$5.00 txn_2',
        '- 2026-12-03T08:00:00.000Z modelslab modelslab.coupon.redeem +$10.00 txn_1: coupon SPRING',
        '',
        'Per day (UTC) and provider, last 1 day(s):',
        '- 2026-12-03 modelslab: $25.00 (1 charge)',
        '',
        'Charges, newest first:',
        '- 2026-12-03T10:00:00.000Z modelslab modelslab.wallet.fund $25.00 pi_1',
      ].join('\n'),
    );
    expect(standingLines(standing)).toEqual([
      'ON: standing authorisations (the provider charges these by itself, without asking again):',
      '- modelslab ModelsLab wallet auto-funding: $50.00 each time the ModelsLab wallet falls under $10.00, paid with Visa •••• 4242 (pm_1); set 2026-12-03T09:00:00.000Z',
    ]);
    expect(standingLines([])).toEqual([]);
  });

  it('keeps to the provider asked for, and to the days asked for', () => {
    const entries = [credit({ time: '2026-12-01T08:00:00.000Z', reference: 'txn_old' })];
    expect(
      renderSpendReport(overview({ standing, entries }), today, { days: 30, provider: 'pixelmuse' }),
    ).toBe(`${todayLine(today)}\nNo charges in the last 30 day(s) for pixelmuse.`);
    expect(renderSpendReport(overview({ standing }), today, { days: 30, provider: 'modelslab' })).toContain(
      standingLines(standing).join('\n'),
    );
    expect(renderSpendReport(overview({ standing: [], entries }), today, { days: 1 })).toBe(
      `${todayLine(today)}\nNo charges in the last 1 day(s).`,
    );
    const credits = Array.from({ length: 21 }, (_, i) =>
      credit({ time: `2026-12-03T10:${String(i).padStart(2, '0')}:00.000Z`, reference: `txn_n${i}` }),
    );
    const many = renderSpendReport(overview({ entries: credits }), today, { days: 1 });
    expect(many).toMatch(/ txn_n20$/m);
    expect(many).not.toMatch(/ txn_n0$/m);
    expect(many).toContain('No charges in the last 1 day(s).');
  });
});
