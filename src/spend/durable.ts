import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * Files that money depends on: a crash right after a write returns must not lose it, so every write is
 * fsynced, and so is the directory entry that names it. Directories are 0700: what they hold is nobody
 * else's business.
 */

export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function writeSynced(path: string, content: string, flags: string): Promise<void> {
  const handle = await open(path, flags, 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Create `path` with `content` only if it does not exist yet; false if it does. The content is complete
 * and on disk before the name appears (write a temp file, then hard-link it), so a reader never sees half.
 */
export async function createDurably(path: string, content: string): Promise<boolean> {
  const dir = dirname(path);
  await ensureDir(dir);
  const temp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  await writeSynced(temp, content, 'wx');
  try {
    await link(temp, path);
    await syncDir(dir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Replace `path` whatever was there: same durability as createDurably. */
export async function replaceDurably(path: string, content: string): Promise<void> {
  const dir = dirname(path);
  await ensureDir(dir);
  const temp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  await writeSynced(temp, content, 'wx');
  try {
    await rename(temp, path);
    await syncDir(dir);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** Remove `path` (absent is fine) and make the removal itself survive a crash. */
export async function removeDurably(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  await syncDir(dirname(path));
}

/** Append one line; a single write in append mode, so concurrent writers never interleave within a line. */
export async function appendLineDurably(path: string, line: string): Promise<void> {
  await ensureDir(dirname(path));
  const size = await stat(path).then(
    (s) => s.size,
    () => undefined,
  );
  // A crash mid-append leaves a line without its newline; start on a fresh line so this one is not lost too.
  const torn = size !== undefined && size > 0 && (await lastByte(path, size)) !== 0x0a;
  await writeSynced(path, `${torn ? '\n' : ''}${line}\n`, 'a');
  if (size === undefined) await syncDir(dirname(path));
}

async function lastByte(path: string, size: number): Promise<number | undefined> {
  const handle = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(1), 0, 1, size - 1);
    return bytesRead === 1 ? buffer[0] : undefined;
  } finally {
    await handle.close();
  }
}

export async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Every `.json` record in `dir`, read with `read` (which may throw on one it cannot read: callers fail closed). */
export async function readRecords<T>(
  dir: string,
  read: (path: string) => Promise<T | undefined>,
): Promise<T[]> {
  const out: T[] = [];
  for (const name of await listDir(dir)) {
    if (!name.endsWith('.json')) continue;
    const record = await read(join(dir, name));
    if (record !== undefined) out.push(record);
  }
  return out;
}
