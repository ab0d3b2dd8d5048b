import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpendStateError } from '../../src/errors.js';
import { openLedger, utcDay } from '../../src/spend/ledger.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atelier-ledger-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const charge = {
  time: '2026-11-30T10:00:00.000Z',
  provider: 'modelslab',
  operation: 'modelslab.wallet.fund',
  amount: 25,
  currency: 'USD',
  reference: 'pi_1',
  replay: false,
};

describe('ledger', () => {
  it('records one line per request key, without the key itself', async () => {
    const ledger = openLedger(dir);
    const key = 'atelier-fund-0123456789abcdef01234567';
    const [a, b] = await Promise.all([
      ledger.record(charge, { idempotencyKey: key }),
      ledger.record({ ...charge, replay: true }, { idempotencyKey: key }),
    ]);
    expect([a.added, b.added].sort()).toEqual([false, true]);
    const text = await readFile(ledger.path, 'utf8');
    expect(text.trim().split('\n')).toHaveLength(1);
    expect(text).not.toContain(key);
    // Two separate requests with the same reference shape (a plan changed twice) are two lines.
    await ledger.record({ ...charge, reference: 'sub_1' }, { idempotencyKey: 'k2' });
    await ledger.record({ ...charge, reference: 'sub_1' }, { idempotencyKey: 'k3' });
    expect(await ledger.entries()).toHaveLength(3);
  });

  it('records a paid checkout session once however often it is confirmed', async () => {
    const ledger = openLedger(dir);
    await ledger.record({ ...charge, reference: 'cs_1' }, { uniqueReference: true });
    expect((await ledger.record({ ...charge, reference: 'cs_1' }, { uniqueReference: true })).added).toBe(
      false,
    );
    expect(await ledger.entries()).toHaveLength(1);
  });

  it('fails closed on a line torn by a crash, naming it, and still books a charge that happened after it', async () => {
    const ledger = openLedger(dir);
    await ledger.record(charge, { idempotencyKey: 'k1' });
    await appendFile(ledger.path, '{"time":"2026-11-30T1');
    await ledger.record({ ...charge, reference: 'pi_2' }, { idempotencyKey: 'k2' });
    await expect(ledger.entries()).rejects.toThrow(`${ledger.path}:2: not JSON`);
    const { entries, problems } = await ledger.read();
    expect(entries.map((e) => e.reference)).toEqual(['pi_1', 'pi_2']);
    expect(problems).toEqual([`${ledger.path}:2: not JSON (a line torn by a crash, or edited by hand)`]);
  });

  it.each([
    ['a string amount', { amount: 'abc' }, 'amount "abc"'],
    ['no amount', { amount: undefined }, 'amount undefined'],
    ['an infinite amount', { amount: 'Infinity' }, 'amount "Infinity"'],
    ['a bad time', { time: 'yesterday' }, 'time "yesterday"'],
    ['no currency', { currency: '' }, 'currency ""'],
    ['no reference', { reference: 7 }, 'no provider or reference'],
    ['no provider', { provider: 7 }, 'no provider or reference'],
    ['a time that is a number', { time: 5 }, 'time 5'],
    ['a currency that is a number', { currency: 5 }, 'currency 5'],
  ])('fails closed on a line with %s', async (_, odd, why) => {
    const ledger = openLedger(dir);
    await ledger.record(charge, { idempotencyKey: 'k1' });
    await appendFile(ledger.path, `${JSON.stringify({ ...charge, ...odd })}\n`);
    await expect(ledger.entries()).rejects.toThrow(`${ledger.path}:2: ${why}`);
  });

  it.each([
    ['null', 'null'],
    ['an array', '[1,2]'],
    ['a string', '"a charge"'],
    ['a number', '25'],
  ])('fails closed on a line that is %s, not an object', async (_, line) => {
    const ledger = openLedger(dir);
    await ledger.record(charge, { idempotencyKey: 'k1' });
    await appendFile(ledger.path, `${line}\n`);
    await expect(ledger.entries()).rejects.toThrow(`${ledger.path}:2: not a JSON object`);
  });

  it('skips blank lines, spaces and CRLF endings included (a hand-edited ledger)', async () => {
    const ledger = openLedger(dir);
    await appendFile(ledger.path, `${JSON.stringify(charge)}\r\n  \r\n\t\n\n`);
    expect(await ledger.read()).toEqual({ entries: [charge], problems: [] });
  });

  it('names the first unreadable line, the next three as facts, and what to do', async () => {
    const ledger = openLedger(dir);
    await appendFile(ledger.path, 'a\nb\nc\nd\ne\n');
    const error = (await ledger.entries().catch((e: unknown) => e)) as SpendStateError;
    expect(error).toBeInstanceOf(SpendStateError);
    expect(error.path).toBe(ledger.path);
    const torn = (n: number) => `${ledger.path}:${n}: not JSON (a line torn by a crash, or edited by hand)`;
    expect(error.message).toBe(
      `The spend ledger has a line that cannot be read (${torn(1)}), so today's spend is unknown and no charge is made.`,
    );
    expect(error.facts).toEqual([torn(2), torn(3), torn(4)]);
    expect(error.next).toBe(
      'Ask the human to repair or remove that line (spend_report shows the readable ones; each charge ' +
        'can be checked with the provider), then call again.',
    );
  });

  it('appends every line that names no key and no unique reference', async () => {
    const ledger = openLedger(dir);
    expect((await ledger.record(charge, {})).added).toBe(true);
    expect((await ledger.record(charge, {})).added).toBe(true);
    expect(await ledger.entries()).toHaveLength(2);
  });

  it('a unique reference is unique per provider', async () => {
    const ledger = openLedger(dir);
    await ledger.record({ ...charge, reference: 'cs_1' }, { uniqueReference: true });
    expect((await ledger.record({ ...charge, reference: 'cs_2' }, { uniqueReference: true })).added).toBe(
      true,
    );
    expect(
      (
        await ledger.record(
          { ...charge, provider: 'pixelmuse', reference: 'cs_1' },
          { uniqueReference: true },
        )
      ).added,
    ).toBe(true);
    // Without asking for it, the same reference is another line (a plan changed twice).
    expect((await ledger.record({ ...charge, reference: 'cs_1' }, { idempotencyKey: 'k9' })).added).toBe(
      true,
    );
    expect(await ledger.entries()).toHaveLength(4);
  });

  it('days are UTC calendar days, from text or a Date', () => {
    expect(utcDay('2026-12-03T23:30:00-02:00')).toBe('2026-12-04');
    expect(utcDay(new Date('2026-12-03T00:00:00.000Z'))).toBe('2026-12-03');
  });
});
