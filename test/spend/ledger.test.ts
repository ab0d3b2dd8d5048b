import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLedger } from '../../src/spend/ledger.js';

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
  ])('fails closed on a line with %s', async (_, odd, why) => {
    const ledger = openLedger(dir);
    await ledger.record(charge, { idempotencyKey: 'k1' });
    await appendFile(ledger.path, `${JSON.stringify({ ...charge, ...odd })}\n`);
    await expect(ledger.entries()).rejects.toThrow(`${ledger.path}:2: ${why}`);
  });
});
