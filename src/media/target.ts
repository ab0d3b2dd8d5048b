import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserInputError } from '../errors.js';
import { DanglingLinkError, isInside, realPathOf } from './confine.js';
import { IMAGE_EXTENSIONS } from './sniff.js';

/** Where one call's outputs go: validated, absolute. `stem` is the user's filename without its extension. */
export interface Target {
  root: string;
  dir: string;
  stem?: string;
}

// Names are limited to 255 bytes (not characters: 100 CJK characters are 300 bytes). A stem of 180 leaves room
// for "-NNNN", the extension and the temp-file affixes.
const NAME_MAX_BYTES = 255;
const MAX_STEM_BYTES = 180;
// Longest file name we create beyond the stem: ".<stem>.<12 hex>.tmp".
const NAME_OVERHEAD_BYTES = 20;
const PATH_MAX_BYTES = process.platform === 'darwin' ? 1024 : 4096;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;
// Bidirectional overrides and marks: "gpj.exe" shown as "exe.jpg".
const BIDI_CHARS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const WINDOWS_CHARS = /[<>:"|?*]/;
const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

function relativeHint(root: string): string {
  return `Pass a folder relative to the output root ${root}, such as "hero" or "assets/icons"; set ATELIER_OUTPUT_DIR to move the root itself.`;
}

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** Why `name` cannot be a file or folder name on every system we run on, or undefined. */
function badName(name: string): string | undefined {
  if (CONTROL_CHARS.test(name)) return 'contains a control character (such as NUL or a newline)';
  if (BIDI_CHARS.test(name)) return 'contains a bidirectional override, which can disguise a name';
  if (WINDOWS_CHARS.test(name)) return 'contains a character Windows does not allow in names (< > : " | ? *)';
  if (WINDOWS_DEVICES.test(name.trim()))
    return 'is a device name Windows reserves (CON, PRN, AUX, NUL, COM1, LPT1…)';
  if (bytes(name) > NAME_MAX_BYTES) return `is ${bytes(name)} bytes long; a name may have ${NAME_MAX_BYTES}`;
  return undefined;
}

/** Maps what realPathOf() throws for a broken path to an input error; anything else passes through. */
function brokenPath(err: unknown, outputDir: string, root: string): unknown {
  const next = relativeHint(root);
  if (err instanceof DanglingLinkError)
    return new UserInputError(`output_dir "${outputDir}" goes through ${err.message}.`, { next });
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP')
    return new UserInputError(`output_dir "${outputDir}" goes through a symlink loop.`, { next });
  if (code === 'ENAMETOOLONG')
    return new UserInputError(`output_dir "${outputDir}" is too long a path for this system.`, { next });
  if (code === 'EACCES' || code === 'EPERM')
    return new UserInputError(`output_dir "${outputDir}" cannot be checked (${code}).`, { next });
  return err;
}

async function resolveDir(root: string, outputDir: string | undefined): Promise<string> {
  if (outputDir === undefined || outputDir.trim() === '') return root;
  const next = relativeHint(root);
  if (CONTROL_CHARS.test(outputDir)) {
    throw new UserInputError('output_dir contains a control character (such as NUL).', { next });
  }
  const dir = resolve(root, outputDir);
  const realRoot = (await realPathOf(root)).real;
  // An absolute output_dir may spell the root through a symlink (macOS /var vs /private/var), hence either form.
  const base = isInside(root, dir) ? root : isInside(realRoot, dir) ? realRoot : undefined;
  if (base === undefined) {
    throw new UserInputError(`output_dir "${outputDir}" must stay inside the output root ${root}.`, { next });
  }
  for (const part of relative(base, dir).split(sep)) {
    const why = part === '' ? undefined : badName(part);
    if (why)
      throw new UserInputError(`output_dir "${outputDir}": the folder name "${part}" ${why}.`, { next });
  }
  const real = await realPathOf(dir).catch((err: unknown) => {
    throw brokenPath(err, outputDir, root);
  });
  if (!isInside(realRoot, real.real)) {
    throw new UserInputError(
      `output_dir "${outputDir}" goes through a symlink to ${real.real}, outside the output root ${root}.`,
      { next },
    );
  }
  if (!real.existingIsDir) {
    throw new UserInputError(`output_dir "${outputDir}" runs into a file (${real.existing}), not a folder.`, {
      next: 'Pick another folder name, or move that file.',
    });
  }
  return dir;
}

function resolveStem(filename: string | undefined): string | undefined {
  if (filename === undefined) return undefined;
  const next =
    'Pass a base name such as "hero" or "hero.png" (folders go in output_dir), or omit filename to name the file after the prompt.';
  const name = filename.trim();
  if (name === '') throw new UserInputError('filename is empty.', { next });
  if (/[/\\]/.test(name)) {
    throw new UserInputError(`filename "${filename}" must be a base name, without "/" or "\\".`, { next });
  }
  if (CONTROL_CHARS.test(name))
    throw new UserInputError('filename contains a control character (such as NUL or a newline).', { next });
  if (/^\.+$/.test(name)) throw new UserInputError(`filename "${filename}" is not a file name.`, { next });
  // The bytes decide the real extension; an image extension the user typed is dropped, anything else is kept
  // as part of the name ("hero.v2" stays "hero.v2").
  const [, base, ext] = /^(.*)\.([A-Za-z0-9]+)$/.exec(name) ?? [];
  const stem =
    base !== undefined && ext !== undefined && IMAGE_EXTENSIONS.has(ext.toLowerCase()) ? base : name;
  if (stem === '' || /^\.+$/.test(stem)) {
    throw new UserInputError(`filename "${filename}" has an extension but no name.`, { next });
  }
  if (bytes(stem) > MAX_STEM_BYTES) {
    throw new UserInputError(
      `filename is ${bytes(stem)} bytes long in UTF-8; the limit is ${MAX_STEM_BYTES} bytes (about 60 CJK characters).`,
      { next },
    );
  }
  const why = badName(stem);
  if (why) throw new UserInputError(`filename "${filename}" ${why}.`, { next });
  return stem;
}

/**
 * Checks output_dir and filename without writing anything, before any request leaves: escapes, broken links,
 * names no file system takes, byte lengths. Throws UserInputError; nothing is charged for a bad target.
 */
export async function resolveTarget(
  root: string,
  opts: { outputDir?: string; filename?: string },
): Promise<Target> {
  if (!isAbsolute(root)) throw new Error(`output root must be absolute, got ${root}`);
  const stem = resolveStem(opts.filename);
  const dir = await resolveDir(root, opts.outputDir);
  const longest = bytes(join(dir, 'x')) - 1 + (stem === undefined ? 60 : bytes(stem)) + NAME_OVERHEAD_BYTES;
  if (longest > PATH_MAX_BYTES) {
    throw new UserInputError(
      `The file path would be ${longest} bytes long; this system allows ${PATH_MAX_BYTES}.`,
      { next: `Pass a shorter output_dir or filename. ${relativeHint(root)}` },
    );
  }
  return stem === undefined ? { root, dir } : { root, dir, stem };
}
