import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * Which server process wrote a lock or started a charge, and whether it is still alive. Several servers share
 * one ATELIER_HOME (two editor windows); a charge started by a live one is in progress, one started by a dead
 * one is an unknown outcome to replay. The pid alone could be reused after a crash, so the process's start
 * time (from /proc, where there is one) and a random id go with it.
 */

export interface Owner {
  pid: number;
  /** Clock ticks after boot at which the process started (Linux); undefined where it cannot be read. */
  start: string | undefined;
  id: string;
}

let self: Promise<Owner> | undefined;

export function currentOwner(): Promise<Owner> {
  self ??= processStart(process.pid).then((start) => ({
    pid: process.pid,
    start,
    id: randomBytes(6).toString('hex'),
  }));
  return self;
}

export function formatOwner(owner: Owner): string {
  return `${owner.pid}/${owner.start ?? '-'}/${owner.id}`;
}

export function parseOwner(text: string | undefined): Owner | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\/([\d-]+)\/([0-9a-f]+)$/.exec(text.trim());
  if (!m) return undefined;
  return { pid: Number(m[1]), start: m[2] === '-' ? undefined : m[2], id: m[3]! };
}

/** Whether `owner` is a process that is running now (this one included). */
export async function isAlive(owner: Owner): Promise<boolean> {
  const me = await currentOwner();
  if (owner.pid === me.pid) return owner.id === me.id;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (owner.start === undefined) return true;
  const start = await processStart(owner.pid);
  return start === undefined || start === owner.start;
}

async function processStart(pid: number): Promise<string | undefined> {
  // No /proc (another OS), or no such process: no start time.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}
