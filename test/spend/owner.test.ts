import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { currentOwner, formatOwner, isAlive, parseOwner } from '../../src/spend/owner.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Field 22 of /proc/<pid>/stat: the start time in clock ticks after boot. */
async function startTicks(pid: number): Promise<string> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

describe('the owner of a lock or a charge', () => {
  it('is this process: its pid, its start time from /proc, and one random id for its whole life', async () => {
    const me = await currentOwner();
    expect(me.pid).toBe(process.pid);
    expect(me.start).toBe(await startTicks(process.pid));
    expect(me.id).toMatch(/^[0-9a-f]{12}$/);
    expect(await currentOwner()).toBe(me);
  });

  it('is written as pid/start/id and read back; "-" stands for a start time that cannot be read', () => {
    const owner = { pid: 42, start: '123456', id: 'abc123' };
    expect(formatOwner(owner)).toBe('42/123456/abc123');
    expect(parseOwner('42/123456/abc123')).toEqual(owner);
    expect(parseOwner(' 42/123456/abc123\n')).toEqual(owner);
    expect(formatOwner({ pid: 7, start: undefined, id: 'ff' })).toBe('7/-/ff');
    expect(parseOwner('7/-/ff')).toEqual({ pid: 7, start: undefined, id: 'ff' });
  });

  it.each([
    undefined,
    '',
    '42/123/xyz',
    'x42/123/abc',
    '42/123/abc/extra',
    '42/12a/abc',
    '42/123',
    'pid/123/abc',
    '42/123/abc trailing',
    'lead 42/123/abc',
  ])('reads %j as no owner', (text) => {
    expect(parseOwner(text)).toBeUndefined();
  });

  it('this process is alive only under its own id (a reused pid in a record is not us)', async () => {
    const me = await currentOwner();
    expect(await isAlive(me)).toBe(true);
    expect(await isAlive({ ...me, id: 'fedcba987654' })).toBe(false);
  });

  it('another process is alive while it runs, and not once it has exited', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      const pid = child.pid!;
      const start = await startTicks(pid);
      expect(await isAlive({ pid, start, id: 'aa' })).toBe(true);
      expect(await isAlive({ pid, start: undefined, id: 'aa' })).toBe(true);
      // The same pid with another start time is a process that reused it: the owner is gone.
      expect(await isAlive({ pid, start: String(Number(start) + 1), id: 'aa' })).toBe(false);
    } finally {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
    expect(await isAlive({ pid: child.pid!, start: undefined, id: 'aa' })).toBe(false);
  });

  it('a process that exists but belongs to another user (EPERM) is alive', async () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    });
    expect(await isAlive({ pid: 999_999_1, start: undefined, id: 'aa' })).toBe(true);
    kill.mockImplementation(() => {
      throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    });
    expect(await isAlive({ pid: 999_999_1, start: undefined, id: 'aa' })).toBe(false);
  });

  it('a live process whose start time cannot be read counts as the owner', async () => {
    // process.kill says it exists, /proc has no entry for it (another OS, a hidden pid).
    vi.spyOn(process, 'kill').mockImplementation(() => true);
    expect(await isAlive({ pid: 999_999_1, start: '1234', id: 'aa' })).toBe(true);
  });
});
