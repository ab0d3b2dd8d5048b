import { randomBytes } from 'node:crypto';
import { link, open, realpath, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigurationError, UserInputError } from '../errors.js';
import { EscapeError, mkdirInside } from './confine.js';
import { slug } from './slug.js';
import { isImage, sniff } from './sniff.js';
import type { Target } from './target.js';
import { withSharp } from './sharp.js';

export interface SavedImage {
  path: string;
  bytes: number;
  mimeType: string;
  width?: number;
  height?: number;
  source?: string;
}

// Past this many taken names something is wrong (or the folder is a dumping ground); stop rather than spin.
const MAX_ATTEMPTS = 10_000;

// Filesystems without hard links (FAT, exFAT, some network mounts) answer link() with one of these.
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** Width and height for the formats whose header sniff() doesn't read (AVIF, HEIC). */
async function dimensionsWithSharp(bytes: Buffer): Promise<{ width?: number; height?: number }> {
  try {
    const { width, height } = await withSharp((sharp) => sharp(bytes).metadata());
    return { width, height };
  } catch {
    return {};
  }
}

/** A data: URI is the image itself; keep just its header so the result stays small. */
function describeSource(source: string | undefined): string | undefined {
  if (source === undefined || !source.startsWith('data:')) return source;
  const comma = source.indexOf(',');
  return `${comma === -1 ? source.slice(0, 40) : source.slice(0, comma)},…`;
}

async function writeTemp(path: string, bytes: Buffer): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(bytes);
    // The data must be on disk before the name appears, or a crash could leave an empty "final" file.
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Gives `temp` the name `final` unless taken; false when taken. The content appears whole or not at all. */
async function claim(temp: string, final: string, hardLinks: { ok: boolean }): Promise<boolean> {
  if (hardLinks.ok) {
    try {
      await link(temp, final);
      return true;
    } catch (err) {
      if (errno(err) === 'EEXIST') return false;
      if (!NO_HARD_LINKS.has(errno(err) ?? '')) throw err;
      hardLinks.ok = false;
    }
  }
  // Without hard links: reserve the name exclusively, then atomically replace the empty placeholder.
  try {
    await (await open(final, 'wx')).close();
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    throw err;
  }
  await rename(temp, final);
  return true;
}

/** Writes `bytes` under target.dir with a fresh name and the extension of their real type. Never overwrites. */
export async function saveImage(
  bytes: Buffer,
  target: Target,
  opts: { fallbackName: string; source?: string },
): Promise<SavedImage> {
  const type = sniff(bytes);
  const base = target.stem ?? slug(opts.fallbackName);

  let dir: string;
  try {
    dir = await mkdirInside(target.root, target.dir);
  } catch (err) {
    // target() checked this already; a symlink swapped in since then is caught before anything is made past it.
    if (err instanceof EscapeError) {
      throw new UserInputError(
        `${err.path} now resolves to ${err.real}, outside the output root ${target.root}.`,
        {
          next: 'Pass a different output_dir.',
        },
      );
    }
    throw new ConfigurationError(
      `Could not create the folder ${target.dir} (${errno(err) ?? String(err)}).`,
      {
        next: 'Pick another output_dir, or set ATELIER_OUTPUT_DIR to a folder this server can write.',
      },
    );
  }
  // Written where the folder really is, so a link swapped in after this point changes nothing; shown as asked.
  const shown = (await realpath(target.dir).catch(() => undefined)) === dir ? target.dir : dir;

  const temp = join(dir, `.${base}.${randomBytes(6).toString('hex')}.tmp`);
  const hardLinks = { ok: true };
  try {
    await writeTemp(temp, bytes);
    for (let n = 1; n <= MAX_ATTEMPTS; n++) {
      const name = n === 1 ? `${base}.${type.ext}` : `${base}-${n}.${type.ext}`;
      if (await claim(temp, join(dir, name), hardLinks)) {
        const path = join(shown, name);
        const dims =
          type.width !== undefined || !isImage(type)
            ? type
            : { ...type, ...(await dimensionsWithSharp(bytes)) };
        const saved: SavedImage = { path, bytes: bytes.length, mimeType: type.mimeType };
        if (dims.width !== undefined) saved.width = dims.width;
        if (dims.height !== undefined) saved.height = dims.height;
        const source = describeSource(opts.source);
        if (source !== undefined) saved.source = source;
        return saved;
      }
    }
    throw new ConfigurationError(
      `${MAX_ATTEMPTS} files named ${base}-N.${type.ext} already exist in ${target.dir}.`,
      {
        next: 'Pass another filename or output_dir.',
      },
    );
  } catch (err) {
    if (err instanceof ConfigurationError || err instanceof UserInputError) throw err;
    throw new ConfigurationError(
      `Could not save the image in ${target.dir} (${errno(err) ?? String(err)}).`,
      {
        next: 'Check that the folder is writable and the disk has room, or set ATELIER_OUTPUT_DIR to another folder.',
      },
    );
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
