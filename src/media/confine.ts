import { realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';

/** True when `child` is `parent` or below it (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

export interface RealPath {
  /** The path with every existing part resolved through symlinks. */
  real: string;
  /** The deepest part of the path that exists. */
  existing: string;
  /** Whether that deepest existing part is a directory. */
  existingIsDir: boolean;
}

/** realpath() of the deepest existing ancestor, with the parts that don't exist yet appended. */
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
      missing.push(basename(current));
      current = parent;
    }
  }
}
