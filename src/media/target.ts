import { isAbsolute, resolve } from 'node:path';
import { UserInputError } from '../errors.js';
import { isInside, realPathOf } from './confine.js';
import { IMAGE_EXTENSIONS } from './sniff.js';

/** Where one call's outputs go: validated, absolute. `stem` is the user's filename without its extension. */
export interface Target {
  root: string;
  dir: string;
  stem?: string;
}

// Leaves room under the usual 255-byte name limit for "-NN", the extension and the temp-file affixes.
const MAX_STEM_LENGTH = 180;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function relativeHint(root: string): string {
  return `Pass a folder relative to the output root ${root}, such as "hero" or "assets/icons"; set ATELIER_OUTPUT_DIR to move the root itself.`;
}

async function resolveDir(root: string, outputDir: string | undefined): Promise<string> {
  if (outputDir === undefined || outputDir.trim() === '') return root;
  if (CONTROL_CHARS.test(outputDir)) {
    throw new UserInputError('output_dir contains a control character (such as NUL).', {
      next: relativeHint(root),
    });
  }
  const dir = resolve(root, outputDir);
  const realRoot = (await realPathOf(root)).real;
  // An absolute output_dir may spell the root through a symlink (macOS /var vs /private/var), hence either form.
  if (!isInside(root, dir) && !isInside(realRoot, dir)) {
    throw new UserInputError(`output_dir "${outputDir}" must stay inside the output root ${root}.`, {
      next: relativeHint(root),
    });
  }
  const real = await realPathOf(dir);
  if (!isInside(realRoot, real.real)) {
    throw new UserInputError(
      `output_dir "${outputDir}" goes through a symlink to ${real.real}, outside the output root ${root}.`,
      { next: relativeHint(root) },
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
    throw new UserInputError('filename contains a control character (such as NUL).', { next });
  if (/^\.+$/.test(name)) throw new UserInputError(`filename "${filename}" is not a file name.`, { next });
  // The bytes decide the real extension; an image extension the user typed is dropped, anything else is kept
  // as part of the name ("hero.v2" stays "hero.v2").
  const [, base, ext] = /^(.*)\.([A-Za-z0-9]+)$/.exec(name) ?? [];
  const stem =
    base !== undefined && ext !== undefined && IMAGE_EXTENSIONS.has(ext.toLowerCase()) ? base : name;
  if (stem === '' || /^\.+$/.test(stem)) {
    throw new UserInputError(`filename "${filename}" has an extension but no name.`, { next });
  }
  if (stem.length > MAX_STEM_LENGTH) {
    throw new UserInputError(`filename is ${stem.length} characters long; the limit is ${MAX_STEM_LENGTH}.`, {
      next,
    });
  }
  return stem;
}

/** Checks output_dir and filename without writing anything; throws UserInputError for any escape. */
export async function resolveTarget(
  root: string,
  opts: { outputDir?: string; filename?: string },
): Promise<Target> {
  if (!isAbsolute(root)) throw new Error(`output root must be absolute, got ${root}`);
  const stem = resolveStem(opts.filename);
  const dir = await resolveDir(root, opts.outputDir);
  return stem === undefined ? { root, dir } : { root, dir, stem };
}
