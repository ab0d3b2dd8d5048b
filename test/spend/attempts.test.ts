import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpendStateError } from '../../src/errors.js';
import {
  argsDigest,
  canonicalJson,
  newKey,
  openAttemptStore,
  type Attempt,
} from '../../src/spend/idempotency.js';

let dir: string;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'atelier-attempts-')), 'idempotency');
});
afterEach(async () => {
  await rm(join(dir, '..'), { recursive: true, force: true });
});

const attempt = (over: Partial<Attempt> = {}): Attempt => ({
  key: 'atelier-op-0123',
  operation: 'op',
  args_sha256: 'd1',
  created_at: '2026-12-03T10:00:00.000Z',
  ...over,
});

describe('canonical arguments', () => {
  it('are the same JSON whatever the key order, at every depth', () => {
    expect(canonicalJson({ b: { d: 1, c: [{ f: 1, e: 2 }] }, a: 'x' })).toBe(
      '{"a":"x","b":{"c":[{"e":2,"f":1}],"d":1}}',
    );
  });

  it('keep scalars, null, arrays and dates as JSON writes them', () => {
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(0)).toBe('0');
    expect(canonicalJson('')).toBe('""');
    expect(canonicalJson(false)).toBe('false');
    expect(canonicalJson([undefined, 2, [undefined]])).toBe('[null,2,[null]]');
    expect(canonicalJson({ at: new Date('2026-12-03T10:00:00.000Z') })).toBe(
      '{"at":"2026-12-03T10:00:00.000Z"}',
    );
    expect(canonicalJson({})).toBe('{}');
  });

  it('digest the operation with them: other operation or arguments, other digest', () => {
    expect(argsDigest('op', { a: 1 })).toMatch(/^[0-9a-f]{64}$/);
    expect(argsDigest('op', { a: 1 })).toBe(argsDigest('op', { a: 1, b: undefined }));
    expect(argsDigest('op', { a: 1 })).not.toBe(argsDigest('op', { a: 2 }));
    expect(argsDigest('op', { a: 1 })).not.toBe(argsDigest('op2', { a: 1 }));
    // The operation and the arguments cannot run into each other.
    expect(argsDigest('a', 'b')).not.toBe(argsDigest('a"', 'b'));
  });
});

describe('idempotency keys', () => {
  it('name the operation in a header-safe slug, then 24 hex digits of randomness', () => {
    expect(newKey('modelslab.wallet.fund')).toMatch(/^atelier-modelslab-wallet-fund-[0-9a-f]{24}$/);
    expect(newKey('..a  b!!')).toMatch(/^atelier-a-b-[0-9a-f]{24}$/);
    expect(newKey('-x-')).toMatch(/^atelier-x-[0-9a-f]{24}$/);
    expect(newKey('é.ü')).toMatch(/^atelier-op-[0-9a-f]{24}$/);
    expect(newKey('')).toMatch(/^atelier-op-[0-9a-f]{24}$/);
    expect(newKey('a'.repeat(60))).toMatch(new RegExp(`^atelier-${'a'.repeat(40)}-[0-9a-f]{24}$`));
    expect(newKey('op')).not.toBe(newKey('op'));
  });
});

describe('the attempt store', () => {
  it('writes an attempt under its digest, reads and lists it, and forgets it', async () => {
    const store = openAttemptStore(dir);
    expect(await store.read('d1')).toBeUndefined();
    expect(await store.list()).toEqual([]);
    const a = attempt({ amount_micros: 25_000_000, memo: { credential: 'x' } });
    await store.write(a);
    expect(await readdir(dir)).toEqual(['d1.json']);
    expect(JSON.parse(await readFile(join(dir, 'd1.json'), 'utf8'))).toEqual(a);
    expect(await store.read('d1')).toEqual(a);
    await store.write(attempt({ args_sha256: 'd2', key: 'k2' }));
    expect((await store.list()).map((x) => x.key).sort()).toEqual(['atelier-op-0123', 'k2']);
    await store.remove('d1', a.key);
    expect(await store.read('d1')).toBeUndefined();
    expect(await readdir(dir)).toEqual(['d2.json']);
  });

  it('forgets an attempt only while it holds the same key: a newer attempt stays', async () => {
    const store = openAttemptStore(dir);
    await store.write(attempt({ key: 'new' }));
    await store.remove('d1', 'old');
    expect((await store.read('d1'))?.key).toBe('new');
    await store.remove('d9', 'old');
  });

  it('forgets nothing for an unreadable record (it may hold a key): removing never throws on it', async () => {
    const store = openAttemptStore(dir);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'd1.json'), '{"torn');
    await store.remove('d1', 'k');
    expect(await readFile(join(dir, 'd1.json'), 'utf8')).toBe('{"torn');
  });

  it.each<[string, string]>([
    ['torn', '{"key":"k"'],
    ['null', 'null'],
    ['without a key', JSON.stringify({ created_at: '2026-12-03T10:00:00.000Z' })],
    ['with a key that is not text', JSON.stringify({ key: 7, created_at: '2026-12-03T10:00:00.000Z' })],
    ['without a time', JSON.stringify({ key: 'k' })],
    ['with a time that is not text', JSON.stringify({ key: 'k', created_at: 5 })],
    ['with a time that is no time', JSON.stringify({ key: 'k', created_at: 'yesterday' })],
    [
      'with a fractional amount',
      JSON.stringify({ key: 'k', created_at: '2026-12-03T10:00:00.000Z', amount_micros: 1.5 }),
    ],
    [
      'with an amount that is not a number',
      JSON.stringify({ key: 'k', created_at: '2026-12-03T10:00:00.000Z', amount_micros: '25' }),
    ],
  ])('a record %s fails closed, naming its file, in read and in list', async (_, text) => {
    const store = openAttemptStore(dir);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'd1.json'), text);
    const error = await store.read('d1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpendStateError);
    expect((error as SpendStateError).path).toBe(join(dir, 'd1.json'));
    expect((error as Error).message).toBe(
      `The record of an earlier request (${join(dir, 'd1.json')}) cannot be read, so its outcome is unknown; nothing was sent.`,
    );
    expect((error as SpendStateError).next).toBe(
      'Check the provider for that charge (modelslab_wallet transactions, modelslab_payment_status, or the ' +
        'Stripe dashboard for MPP). Once you know it did not go through, or have recorded it, delete that ' +
        'file and call again.',
    );
    await expect(store.list()).rejects.toBeInstanceOf(SpendStateError);
  });

  it('a record without an amount (a request that moves no money) is readable', async () => {
    const store = openAttemptStore(dir);
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'd1.json'),
      JSON.stringify({ key: 'k', created_at: '2026-12-03T10:00:00.000Z' }),
    );
    expect(await store.read('d1')).toEqual({ key: 'k', created_at: '2026-12-03T10:00:00.000Z' });
  });
});
