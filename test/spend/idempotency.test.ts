import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { argsDigest, canonicalJson, openIdempotencyStore } from '../../src/spend/idempotency.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atelier-idem-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('idempotency keys', () => {
  it('canonical JSON ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: { y: [1, undefined], x: 'x' }, c: undefined })).toBe(
      '{"a":{"x":"x","y":[1,null]},"b":1}',
    );
    expect(argsDigest('fund', { amount: 25, pm: 'pm_1' })).toBe(
      argsDigest('fund', { pm: 'pm_1', amount: 25 }),
    );
    expect(argsDigest('fund', { amount: 25 })).not.toBe(argsDigest('subscribe', { amount: 25 }));
  });

  it('persists the key before returning and reuses it for identical arguments until settled', async () => {
    const store = openIdempotencyStore(dir);
    const first = await store.acquire('modelslab.wallet.fund', { amount: 25, pm: 'pm_1' });
    expect(first.reused).toBe(false);
    expect(first.key).toMatch(/^atelier-modelslab-wallet-fund-[0-9a-f]{24}$/);
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    expect(await readFile(join(dir, files[0]!), 'utf8')).toContain(first.key);

    const again = await store.acquire('modelslab.wallet.fund', { pm: 'pm_1', amount: 25 });
    expect(again).toMatchObject({ key: first.key, reused: true });
    const other = await store.acquire('modelslab.wallet.fund', { amount: 26, pm: 'pm_1' });
    expect(other.key).not.toBe(first.key);

    await first.settle();
    const next = await store.acquire('modelslab.wallet.fund', { amount: 25, pm: 'pm_1' });
    expect(next.reused).toBe(false);
    expect(next.key).not.toBe(first.key);
    // Settling a stale handle must not drop the newer request's key.
    await again.settle();
    expect((await store.pending('modelslab.wallet.fund', { amount: 25, pm: 'pm_1' }))?.key).toBe(next.key);
  });

  it('survives a new process: a fresh store over the same directory replays the unsettled key', async () => {
    const before = await openIdempotencyStore(dir).acquire('op', { a: 1 });
    const after = await openIdempotencyStore(dir).acquire('op', { a: 1 });
    expect(after).toMatchObject({ key: before.key, reused: true });
  });

  it('gives concurrent identical requests one key', async () => {
    const stores = [openIdempotencyStore(dir), openIdempotencyStore(dir)];
    const keys = await Promise.all(
      Array.from({ length: 10 }, (_, i) => stores[i % 2]!.acquire('op', { a: 1 })),
    );
    expect(new Set(keys.map((k) => k.key)).size).toBe(1);
    expect(keys.filter((k) => !k.reused)).toHaveLength(1);
  });

  it('stops reusing a key after the window', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const store = openIdempotencyStore(dir, { windowMs: 60_000, now: () => now });
    const first = await store.acquire('op', {});
    now += 59_000;
    expect((await store.acquire('op', {})).key).toBe(first.key);
    now += 2_000;
    const later = await store.acquire('op', {});
    expect(later).toMatchObject({ reused: false });
    expect(later.key).not.toBe(first.key);
  });

  it('replaces an unreadable key file instead of blocking the operation', async () => {
    await writeFile(join(dir, `${argsDigest('op', {})}.json`), '{"torn');
    const key = await openIdempotencyStore(dir).acquire('op', {});
    expect(key.reused).toBe(false);
    expect(await openIdempotencyStore(dir).pending('op', {})).toMatchObject({ key: key.key });
  });
});
