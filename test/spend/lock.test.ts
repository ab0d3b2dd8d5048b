import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SpendStateError } from '../../src/errors.js';
import { openSpendLock } from '../../src/spend/lock.js';
import { currentOwner, formatOwner } from '../../src/spend/owner.js';

// Hooks into the file calls of the lock, to play the races between processes at the exact step they happen.
const hooks = vi.hoisted(() => ({
  /** Runs instead of the next `link`'s first attempt, when set. */
  link: undefined as (() => Promise<void>) | undefined,
  /** Runs before the next `rename`, when set. */
  rename: undefined as (() => Promise<void>) | undefined,
  /** Paths that start with this cannot be read (EACCES), when set. */
  unreadable: undefined as string | undefined,
  /** How many times `link` was called: one per attempt to take the lock. */
  links: 0,
}));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    link: async (...args: Parameters<typeof fs.link>) => {
      hooks.links++;
      const hook = hooks.link;
      hooks.link = undefined;
      if (hook) return hook();
      return fs.link(...args);
    },
    readFile: async (...args: Parameters<typeof fs.readFile>) => {
      if (hooks.unreadable && String(args[0]).startsWith(hooks.unreadable))
        throw Object.assign(new Error('EACCES: readFile'), { code: 'EACCES' });
      return fs.readFile(...args);
    },
    rename: async (...args: Parameters<typeof fs.rename>) => {
      const hook = hooks.rename;
      hooks.rename = undefined;
      await hook?.();
      return fs.rename(...args);
    },
  };
});

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atelier-lock-'));
  path = join(dir, 'spend', 'lock');
});
afterEach(async () => {
  hooks.link = undefined;
  hooks.rename = undefined;
  hooks.unreadable = undefined;
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
    hooks.links = 0;
    const error = await lock.run(async () => (ran = true)).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_400);
    // Meanwhile it looked every 50 to 100 ms or so: neither a busy loop nor waits that grow to seconds.
    expect(hooks.links).toBeGreaterThanOrEqual(10);
    expect(hooks.links).toBeLessThanOrEqual(200);
    expect(error).toBeInstanceOf(SpendStateError);
    expect((error as SpendStateError).path).toBe(path);
    expect((error as Error).message).toBe(
      `Another atelier-mcp process (pid 1) has held the spend lock ${path} for over 1 s.`,
    );
    expect((error as SpendStateError).next).toBe(
      'Retry in a minute. If no other atelier-mcp is running, delete that file and retry.',
    );
    expect(ran).toBe(false);
    expect(await readFile(path, 'utf8')).toBe(held);
    expect(await readdir(join(dir, 'spend'))).toEqual(['lock']);
  });

  it('a lock file it cannot read is never broken: it waits, then says it cannot tell whose it is', async () => {
    const lock = openSpendLock(path, { timeoutMs: 300 });
    await lock.run(async () => undefined);
    const held = await liveOthersLock();
    await writeFile(path, held);
    hooks.unreadable = path;
    const error = await lock.run(async () => 'never').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      /^Another atelier-mcp process \(pid \?\) has held the spend lock /,
    );
    hooks.unreadable = undefined;
    expect(await readFile(path, 'utf8')).toBe(held);
  });

  it('a lock released between its attempt and its look is taken on the next attempt', async () => {
    const lock = openSpendLock(path, { timeoutMs: 1_000 });
    hooks.link = () => Promise.reject(Object.assign(new Error('EEXIST: link'), { code: 'EEXIST' }));
    expect(await lock.run(async () => 'mine')).toBe('mine');
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

  it('is a file only its owner can write', async () => {
    const lock = openSpendLock(path);
    expect(await lock.run(async () => (await stat(path)).mode & 0o777)).toBe(0o600);
  });

  it('passes on a failure to take it other than "held", and leaves no temp file', async () => {
    const lock = openSpendLock(path, { timeoutMs: 200 });
    hooks.link = () => Promise.reject(Object.assign(new Error('EIO: link'), { code: 'EIO' }));
    await expect(lock.run(async () => 'never')).rejects.toThrow(/EIO/);
    expect(await readdir(join(dir, 'spend'))).toEqual([]);
    expect(await lock.run(async () => 'then')).toBe('then');
  });

  it('a dead lock that vanished before it could be moved aside is simply gone', async () => {
    const lock = openSpendLock(path, { timeoutMs: 200 });
    await lock.run(async () => undefined);
    await writeFile(path, '999999/-/abcdef/123456');
    hooks.rename = () => rm(path);
    expect(await lock.run(async () => 'mine')).toBe('mine');
  });

  it('passes on a failure to move a dead lock aside, other than "already gone"', async () => {
    const lock = openSpendLock(path, { timeoutMs: 200 });
    await lock.run(async () => undefined);
    await writeFile(path, '999999/-/abcdef/123456');
    hooks.rename = () => Promise.reject(Object.assign(new Error('EIO: rename'), { code: 'EIO' }));
    await expect(lock.run(async () => 'never')).rejects.toThrow(/EIO/);
    expect(await readFile(path, 'utf8')).toBe('999999/-/abcdef/123456');
  });

  it('a dead lock replaced by a live one just before it was moved aside: the live one is put back', async () => {
    const lock = openSpendLock(path, { timeoutMs: 200 });
    await lock.run(async () => undefined);
    await writeFile(path, '999999/-/abcdef/123456');
    const live = await liveOthersLock();
    hooks.rename = () => writeFile(path, live);
    let ran = false;
    await expect(lock.run(async () => (ran = true))).rejects.toThrow(/pid 1\)/);
    expect(ran).toBe(false);
    expect(await readFile(path, 'utf8')).toBe(live);
    expect(await readdir(join(dir, 'spend'))).toEqual(['lock']);
  });
});
