import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { NetworkError, ProviderError, SpendStateError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { spendDir } from '../../src/spend/home.js';
import { argsDigest, canonicalJson } from '../../src/spend/idempotency.js';
import { openSpendBook, type Consent } from '../../src/spend/index.js';
import { removeHome } from './kit.js';

let home: string;
let config: Config;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'atelier-idem-'));
  config = { ...loadConfig({}, {}, home), home };
});
afterEach(async () => {
  await removeHome(home);
});

const noHuman: Consent = {
  canAsk: () => false,
  ask: () => Promise.reject(new Error('no')),
  canOpenUrl: () => false,
  openUrl: () => Promise.reject(new Error('no')),
};
/** A spend door as a fresh process over the same ATELIER_HOME would open it. */
const door = (now?: () => number) => openSpendBook(config, silentLogger, { now }).withConsent(noHuman);
const keysDir = () => join(spendDir(config), 'idempotency');
const lost = () => new NetworkError('modelslab', 'socket hang up');

describe('requests sent at most once (spend.once)', () => {
  it('canonical JSON ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: { y: [1, undefined], x: 'x' }, c: undefined })).toBe(
      '{"a":{"x":"x","y":[1,null]},"b":1}',
    );
    expect(argsDigest('fund', { amount: 25, pm: 'pm_1' })).toBe(
      argsDigest('fund', { pm: 'pm_1', amount: 25 }),
    );
    expect(argsDigest('fund', { amount: 25 })).not.toBe(argsDigest('subscribe', { amount: 25 }));
  });

  it('writes the key down before the request leaves and forgets it once the answer is known', async () => {
    const seen: string[] = [];
    const result = await door().once({
      operation: 'modelslab.payment_methods.attach',
      args: { pm: 'pm_1' },
      send: async (key) => {
        const [file] = await readdir(keysDir());
        seen.push(key, await readFile(join(keysDir(), file!), 'utf8'));
        return 'ok';
      },
    });
    expect(seen[0]).toMatch(/^atelier-modelslab-payment-methods-attach-[0-9a-f]{24}$/);
    expect(seen[1]).toContain(seen[0]);
    expect(result).toMatchObject({ value: 'ok', replayed: false });
    await result.settled;
    expect(await readdir(keysDir())).toEqual([]);
  });

  it('resends the same key after a lost answer, in this process or the next, until it is known', async () => {
    const keys: string[] = [];
    const req = (send: (key: string) => Promise<string>) => ({ operation: 'op', args: { a: 1 }, send });
    await expect(
      door().once(req(async (k) => (keys.push(k), Promise.reject(lost())))),
    ).rejects.toBeInstanceOf(NetworkError);
    await expect(
      door().once(req(async (k) => (keys.push(k), Promise.reject(lost())))),
    ).rejects.toBeInstanceOf(NetworkError);
    const third = await door().once(req(async (k) => (keys.push(k), 'done')));
    expect(third.replayed).toBe(true);
    await third.settled;
    const fresh = await door().once(req(async (k) => (keys.push(k), 'again')));
    expect(fresh.replayed).toBe(false);
    expect(keys.slice(0, 3)).toEqual([keys[0], keys[0], keys[0]]);
    expect(keys[3]).not.toBe(keys[0]);
    // Other arguments, another key.
    await door().once({ operation: 'op', args: { a: 2 }, send: async (k) => void keys.push(k) });
    expect(keys[4]).not.toBe(keys[0]);
  });

  it('forgets the key when the provider refuses (4xx): the next identical request is a new one', async () => {
    const keys: string[] = [];
    const refused = new ProviderError({ provider: 'modelslab', status: 422, code: 'invalid', message: 'no' });
    await expect(
      door().once({ operation: 'op', args: {}, send: async (k) => (keys.push(k), Promise.reject(refused)) }),
    ).rejects.toBe(refused);
    const second = await door().once({ operation: 'op', args: {}, send: async (k) => void keys.push(k) });
    // Its key is released after the answer is returned: wait for it before the home is removed.
    await second.settled;
    expect(keys[1]).not.toBe(keys[0]);
  });

  it('gives concurrent identical requests one key, from two books over one home', async () => {
    const books = [door(), door()];
    const keys: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const calls = Array.from({ length: 6 }, (_, i) =>
      books[i % 2]!.once({
        operation: 'op',
        args: { a: 1 },
        send: async (k) => {
          keys.push(k);
          await gate;
          return k;
        },
      }),
    );
    while (keys.length < 6) await new Promise((r) => setTimeout(r, 5));
    release();
    await Promise.all((await Promise.all(calls)).map((r) => r.settled));
    expect(new Set(keys).size).toBe(1);
  });

  it('stops reusing a key after a day: the provider no longer replays it', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const keys: string[] = [];
    const send = async (k: string) => (keys.push(k), Promise.reject(lost()));
    await door(() => now)
      .once({ operation: 'op', args: {}, send })
      .catch(() => undefined);
    now += 23 * 60 * 60 * 1000;
    await door(() => now)
      .once({ operation: 'op', args: {}, send })
      .catch(() => undefined);
    now += 2 * 60 * 60 * 1000;
    await door(() => now)
      .once({ operation: 'op', args: {}, send })
      .catch(() => undefined);
    expect(keys[1]).toBe(keys[0]);
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('sends nothing when an earlier attempt cannot be read, and names its file', async () => {
    const path = join(keysDir(), `${argsDigest('op', {})}.json`);
    await door().once({ operation: 'other', args: {}, send: async () => 'x' });
    await writeFile(path, '{"torn');
    let sent = false;
    const failure = door().once({ operation: 'op', args: {}, send: async () => ((sent = true), 'x') });
    await expect(failure).rejects.toBeInstanceOf(SpendStateError);
    await expect(failure).rejects.toThrow(path);
    expect(sent).toBe(false);
  });
});
