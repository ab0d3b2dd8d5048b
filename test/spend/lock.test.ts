import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpendStateError } from '../../src/errors.js';
import { openSpendLock } from '../../src/spend/lock.js';
import { currentOwner, formatOwner } from '../../src/spend/owner.js';

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atelier-lock-'));
  path = join(dir, 'spend', 'lock');
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

/** A lock file as another server process that is alive right now (pid 1, with its real start time) leaves it. */
async function liveOthersLock(): Promise<string> {
  const stat = await readFile('/proc/1/stat', 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  return `1/${start}/abcdef/123456`;
}

describe('the spend lock', () => {
  it('holds a file naming this process while the work runs, and removes it after', async () => {
    const lock = openSpendLock(path);
    const me = formatOwner(await currentOwner());
    const inside = await lock.run(async () => readFile(path, 'utf8'));
    expect(inside).toMatch(new RegExp(`^${me}/[0-9a-f]{12}$`));
    expect(await readdir(join(dir, 'spend'))).toEqual([]);
  });

  it('returns what the work returns, passes on what it throws, and is free again either way', async () => {
    const lock = openSpendLock(path);
    expect(await lock.run(async () => 42)).toBe(42);
    const boom = new Error('boom');
    await expect(lock.run(async () => Promise.reject(boom))).rejects.toBe(boom);
    expect(await readdir(join(dir, 'spend'))).toEqual([]);
    expect(await lock.run(async () => 'again')).toBe('again');
  });

  it('runs the work of one process one at a time, in order, even after a failure', async () => {
    const lock = openSpendLock(path);
    const log: string[] = [];
    const job = (name: string, fail = false) =>
      lock.run(async () => {
        log.push(`${name} in`);
        await sleep(5);
        log.push(`${name} out`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([job('a'), job('b', true), job('c')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(log).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  });

  it('keeps two books over one home apart', async () => {
    const [one, two] = [openSpendLock(path), openSpendLock(path)];
    const log: string[] = [];
    const job = (lock: typeof one, name: string) =>
      lock.run(async () => {
        log.push(`${name} in`);
        await sleep(10);
        log.push(`${name} out`);
      });
    await Promise.all([job(one, 'a'), job(two, 'b'), job(one, 'c'), job(two, 'd')]);
    for (let i = 0; i < log.length; i += 2) expect(log[i + 1]).toBe(log[i]!.replace(' in', ' out'));
  });

  it.each([
    ['a process that died', '999999/-/abcdef/123456'],
    ['a pid reused by another process', '1/1/abcdef/123456'],
    ['garbage', 'not an owner'],
    ['nothing (an empty file)', ''],
  ])('breaks a lock left by %s', async (_, content) => {
    const lock = openSpendLock(path, { timeoutMs: 200 });
    await lock.run(async () => undefined);
    await writeFile(path, content);
    expect(await lock.run(async () => 'mine')).toBe('mine');
    expect(await readdir(join(dir, 'spend'))).toEqual([]);
  });

  it('waits for a live process and takes the lock once it lets go', async () => {
    const lock = openSpendLock(path, { timeoutMs: 5_000 });
    await lock.run(async () => undefined);
    await writeFile(path, await liveOthersLock());
    setTimeout(() => void rm(path), 100);
    const started = Date.now();
    expect(await lock.run(async () => readFile(path, 'utf8'))).not.toContain('abcdef');
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('gives up on a live process after the timeout, naming it and the file, and leaves its lock alone', async () => {
    const lock = openSpendLock(path, { timeoutMs: 1_400 });
    await lock.run(async () => undefined);
    const held = await liveOthersLock();
    await writeFile(path, held);
    let ran = false;
    const started = Date.now();
    const error = await lock.run(async () => (ran = true)).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    expect(error).toBeInstanceOf(SpendStateError);
    expect((error as SpendStateError).path).toBe(path);
    expect((error as Error).message).toBe(
      `Another atelier-mcp process (pid 1) has held the spend lock ${path} for over 1 s.`,
    );
    expect(ran).toBe(false);
    expect(await readFile(path, 'utf8')).toBe(held);
    expect(await readdir(join(dir, 'spend'))).toEqual(['lock']);
  });

  it('waits 15 s by default', async () => {
    const lock = openSpendLock(path);
    await lock.run(async () => undefined);
    await writeFile(path, await liveOthersLock());
    // The clock jumps 10 s at every look: 10 s is within the wait, 20 s is past it.
    let clock = 0;
    vi.spyOn(Date, 'now').mockImplementation(() => (clock += 10_000));
    await expect(lock.run(async () => undefined)).rejects.toThrow(/for over 15 s/);
  });

  it('does not remove a lock that another process holds once its own is gone', async () => {
    const lock = openSpendLock(path);
    const other = await liveOthersLock();
    // While the work runs, the lock file is replaced (a human deleted it, another process took it).
    await lock.run(async () => writeFile(path, other));
    expect(await readFile(path, 'utf8')).toBe(other);
  });
});
