import { randomBytes } from 'node:crypto';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SpendStateError } from '../errors.js';
import { ensureDir } from './durable.js';
import { currentOwner, formatOwner, isAlive, parseOwner } from './owner.js';

/**
 * One lock for the money state of an ATELIER_HOME, across every server process that uses it: taking a
 * confirmation token, checking the caps and writing the hold, and booking the outcome each happen inside it,
 * so two editor windows can neither both spend one token nor both pass one cap. It is held only around file
 * work, never while a request is out. A lock left by a process that died (a crash, SIGKILL) is broken.
 */

export interface SpendLock {
  run<T>(work: () => Promise<T>): Promise<T>;
}

export interface LockOptions {
  /** How long to wait for another live process before giving up. */
  timeoutMs?: number;
}

export function openSpendLock(path: string, options: LockOptions = {}): SpendLock {
  const timeoutMs = options.timeoutMs ?? 15_000;
  // Callers in this process queue here first, so the file only ever arbitrates between processes.
  let queue: Promise<unknown> = Promise.resolve();

  const acquire = async (): Promise<string> => {
    const dir = dirname(path);
    await ensureDir(dir);
    const mine = `${formatOwner(await currentOwner())}/${randomBytes(6).toString('hex')}`;
    const started = Date.now();
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      // Written whole, then linked: a reader never sees a half-written owner.
      const temp = join(dir, `.lock-${randomBytes(6).toString('hex')}`);
      await writeFile(temp, mine, { mode: 0o600 });
      try {
        await link(temp, path);
        return mine;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      } finally {
        await unlink(temp).catch(() => undefined);
      }
      const held = await readFile(path, 'utf8').catch(() => undefined);
      const owner = parseOwner(held?.split('/').slice(0, 3).join('/'));
      if (held !== undefined && (owner === undefined || !(await isAlive(owner)))) {
        await breakStale(held);
        continue;
      }
      if (Date.now() - started > timeoutMs) {
        throw new SpendStateError(
          path,
          `Another atelier-mcp process (pid ${owner?.pid ?? '?'}) has held the spend lock ${path} for over ${Math.round(timeoutMs / 1000)} s.`,
          { next: 'Retry in a minute. If no other atelier-mcp is running, delete that file and retry.' },
        );
      }
      await sleep(wait + Math.random() * wait);
    }
  };

  /** Move the dead owner's lock aside; if it turns out to be a live one that replaced it meanwhile, put it back. */
  const breakStale = async (seen: string): Promise<void> => {
    const aside = `${path}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await rename(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const moved = await readFile(aside, 'utf8').catch(() => undefined);
    if (moved !== seen) await link(aside, path).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
  };

  const release = async (mine: string): Promise<void> => {
    const held = await readFile(path, 'utf8').catch(() => undefined);
    if (held === mine) await unlink(path).catch(() => undefined);
  };

  return {
    run<T>(work: () => Promise<T>): Promise<T> {
      const turn = async () => {
        const mine = await acquire();
        try {
          return await work();
        } finally {
          await release(mine);
        }
      };
      const next = queue.then(turn, turn);
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
