import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  appendLineDurably,
  createDurably,
  ensureDir,
  listDir,
  readIfExists,
  readRecords,
  removeDurably,
  replaceDurably,
} from '../../src/spend/durable.js';

// What reaches the disk, in order: every fsync (of a file or a directory) and every name change, as the
// module under test makes them. A write is durable only if its data and the directory entry naming it are
// synced before the call returns.
const events = vi.hoisted(() => [] as string[]);
// The next `link` fails with this code (a disk error, a permission), before it does anything.
const linkFails = vi.hoisted(() => ({ code: undefined as string | undefined }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const named =
    <A extends unknown[], R>(what: string, fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const result = await fn(...args);
      events.push(`${what} ${args.slice(0, 2).map(String).join(' -> ')}`);
      return result;
    };
  return {
    ...fs,
    open: async (...args: Parameters<typeof fs.open>) => {
      const handle = await fs.open(...args);
      const path = String(args[0]);
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        await sync();
        events.push(`sync ${path}`);
      };
      return handle;
    },
    link: named('link', async (...args: Parameters<typeof fs.link>) => {
      const code = linkFails.code;
      linkFails.code = undefined;
      if (code) throw Object.assign(new Error(`${code}: link`), { code });
      return fs.link(...args);
    }),
    rename: named('rename', fs.rename),
    unlink: named('unlink', fs.unlink),
  };
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atelier-durable-'));
  events.length = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The events with the test's directory written as `D` and temp names as `.tmp`. */
const seen = () => events.map((e) => e.replaceAll(dir, 'D').replace(/\.tmp-[0-9a-f]{12}/g, '.tmp'));
const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('durable files', () => {
  it('createDurably syncs the content, links it under its name, then syncs the directory', async () => {
    const path = join(dir, 'sub', 'a.json');
    expect(await createDurably(path, '{"a":1}')).toBe(true);
    expect(await readFile(path, 'utf8')).toBe('{"a":1}');
    expect(seen()).toEqual([
      'sync D/sub/.tmp',
      'link D/sub/.tmp -> D/sub/a.json',
      'sync D/sub',
      'unlink D/sub/.tmp',
    ]);
    expect(await mode(path)).toBe(0o600);
    expect(await mode(join(dir, 'sub'))).toBe(0o700);
    expect(await readdir(join(dir, 'sub'))).toEqual(['a.json']);
  });

  it('createDurably never replaces what is there, and leaves no temp file', async () => {
    const path = join(dir, 'a.json');
    await createDurably(path, 'first');
    expect(await createDurably(path, 'second')).toBe(false);
    expect(await readFile(path, 'utf8')).toBe('first');
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('createDurably passes on a failure other than "exists", and leaves no temp file', async () => {
    linkFails.code = 'EIO';
    await expect(createDurably(join(dir, 'a.json'), 'x')).rejects.toThrow(/EIO/);
    expect(await readdir(dir)).toEqual([]);
  });

  it('replaceDurably syncs the content, renames it over the old file, then syncs the directory', async () => {
    const path = join(dir, 'sub', 'a.json');
    await replaceDurably(path, 'one');
    events.length = 0;
    await replaceDurably(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('two');
    expect(seen()).toEqual(['sync D/sub/.tmp', 'rename D/sub/.tmp -> D/sub/a.json', 'sync D/sub']);
    expect(await mode(path)).toBe(0o600);
    expect(await readdir(join(dir, 'sub'))).toEqual(['a.json']);
  });

  it('replaceDurably passes on a failed rename and removes its temp file', async () => {
    // A non-empty directory cannot be replaced by a file.
    await mkdir(join(dir, 'a.json', 'inside'), { recursive: true });
    await expect(replaceDurably(join(dir, 'a.json'), 'x')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['a.json']);
  });

  it('removeDurably removes the name and syncs the directory; an absent file is fine', async () => {
    const path = join(dir, 'a.json');
    await writeFile(path, 'x');
    await removeDurably(path);
    expect(await readIfExists(path)).toBeUndefined();
    expect(seen()).toEqual(['unlink D/a.json', 'sync D']);
    events.length = 0;
    await removeDurably(path);
    expect(seen()).toEqual([]);
  });

  it('removeDurably passes on any other failure', async () => {
    await mkdir(join(dir, 'a.json'));
    await expect(removeDurably(join(dir, 'a.json'))).rejects.toThrow();
  });

  it('appendLineDurably creates the file with its directory entry synced, then appends synced lines', async () => {
    const path = join(dir, 'sub', 'ledger.jsonl');
    await appendLineDurably(path, 'one');
    expect(seen()).toEqual(['sync D/sub/ledger.jsonl', 'sync D/sub']);
    expect(await mode(path)).toBe(0o600);
    events.length = 0;
    await appendLineDurably(path, 'two');
    expect(seen()).toEqual(['sync D/sub/ledger.jsonl']);
    expect(await readFile(path, 'utf8')).toBe('one\ntwo\n');
  });

  it('appendLineDurably starts on a fresh line after a line torn by a crash', async () => {
    const path = join(dir, 'ledger.jsonl');
    await writeFile(path, 'one\n{"torn');
    await appendLineDurably(path, 'two');
    expect(await readFile(path, 'utf8')).toBe('one\n{"torn\ntwo\n');
  });

  it('appendLineDurably adds no blank line to an empty file', async () => {
    const path = join(dir, 'ledger.jsonl');
    await writeFile(path, '');
    await appendLineDurably(path, 'one');
    expect(await readFile(path, 'utf8')).toBe('one\n');
  });

  it('readIfExists and listDir read what is there, treat absent as nothing, and pass on other failures', async () => {
    await writeFile(join(dir, 'a.json'), 'x');
    expect(await readIfExists(join(dir, 'a.json'))).toBe('x');
    expect(await readIfExists(join(dir, 'none'))).toBeUndefined();
    await expect(readIfExists(dir)).rejects.toThrow(/EISDIR/);
    expect(await listDir(dir)).toEqual(['a.json']);
    expect(await listDir(join(dir, 'none'))).toEqual([]);
    await expect(listDir(join(dir, 'a.json'))).rejects.toThrow(/ENOTDIR/);
  });

  it('readRecords reads every .json record and skips the others', async () => {
    await writeFile(join(dir, 'a.json'), '1');
    await writeFile(join(dir, 'b.json'), 'skip');
    await writeFile(join(dir, 'c.json.tmp'), '3');
    await writeFile(join(dir, '.lock-1'), '4');
    const read = vi.fn(async (path: string) => {
      const text = await readFile(path, 'utf8');
      return text === 'skip' ? undefined : Number(text);
    });
    expect(await readRecords(dir, read)).toEqual([1]);
    expect(read).toHaveBeenCalledTimes(2);
    expect(await readRecords(join(dir, 'none'), read)).toEqual([]);
  });

  it('ensureDir makes the directory and its parents, private', async () => {
    await ensureDir(join(dir, 'a', 'b'));
    expect(await mode(join(dir, 'a', 'b'))).toBe(0o700);
    await ensureDir(join(dir, 'a', 'b'));
  });

  it('leaves no file open behind it', async () => {
    const open = async () => (await readdir('/proc/self/fd')).length;
    const path = join(dir, 'ledger.jsonl');
    await appendLineDurably(path, 'first');
    const before = await open();
    for (let i = 0; i < 20; i++) {
      await appendLineDurably(path, `line ${i}`);
      await createDurably(join(dir, `c${i}.json`), 'x');
      await replaceDurably(join(dir, 'r.json'), String(i));
      await removeDurably(join(dir, `c${i}.json`));
    }
    expect(await open()).toBe(before);
  });
});
