import { lstat, mkdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';

/** True when `child` is `parent` or below it (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

// Kernel and device trees: their "files" are endless (/dev/zero), block (/dev/stdin, a FIFO), or are the
// server's own protocol stream and memory (/proc/self/fd/1, /proc/self/environ), whatever stat() says.
const SYSTEM_TREES = ['/proc', '/sys', '/dev'];

export function inSystemTree(path: string): boolean {
  return SYSTEM_TREES.some((tree) => path === tree || path.startsWith(`${tree}/`));
}

export interface RealPath {
  /** The path with every existing part resolved through symlinks. */
  real: string;
  /** The deepest part of the path that exists. */
  existing: string;
  /** Whether that deepest existing part is a directory. */
  existingIsDir: boolean;
}

/** A symlink whose target does not exist: realpath() says ENOENT, yet mkdir() there fails with EEXIST. */
export class DanglingLinkError extends Error {
  readonly code = 'EDANGLING';
  constructor(readonly path: string) {
    super(`${path} is a symlink to something that does not exist`);
  }
}

/**
 * realpath() of the deepest existing ancestor, with the parts that don't exist yet appended. A dangling
 * symlink on the way throws DanglingLinkError; a loop, a name too long or no permission throw their errno.
 */
export async function realPathOf(path: string): Promise<RealPath> {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      const real = await realpath(current);
      const existingIsDir = (await stat(real)).isDirectory();
      return { real: join(real, ...missing.reverse()), existing: current, existingIsDir };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const parent = dirname(current);
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === current) throw err;
      if (code === 'ENOENT' && (await lstat(current).catch(() => undefined)))
        throw new DanglingLinkError(current);
      missing.push(basename(current));
      current = parent;
    }
  }
}

/** A folder on the way resolved outside the root (a symlink swapped in since it was checked). */
export class EscapeError extends Error {
  constructor(
    readonly path: string,
    readonly real: string,
  ) {
    super(`${path} resolves to ${real}, outside the output root`);
  }
}

/**
 * Creates `dir` under `root` one component at a time, each inside the resolved parent it was checked in and
 * resolved again before the next: a symlink swapped in mid-way is caught before anything is made beyond it
 * (`mkdir -p` would follow it and build the rest outside). Returns the real path of `dir`.
 */
export async function mkdirInside(root: string, dir: string): Promise<string> {
  const realRoot = await realpath(root);
  const from = isInside(root, dir) ? root : realRoot;
  let current = realRoot;
  let shown = from;
  for (const part of relative(from, dir).split(sep)) {
    if (part === '' || part === '.') continue;
    shown = join(shown, part);
    try {
      await mkdir(join(current, part));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const real = await realpath(join(current, part));
    if (!isInside(realRoot, real)) throw new EscapeError(shown, real);
    if (!(await stat(real)).isDirectory()) {
      throw Object.assign(new Error(`${shown} is not a folder`), { code: 'ENOTDIR' });
    }
    current = real;
  }
  return current;
}
