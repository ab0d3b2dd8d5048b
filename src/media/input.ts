import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserInputError } from '../errors.js';
import { isImage, sniff } from './sniff.js';

export const MAX_INPUT_BYTES = 10 * 1024 * 1024;

const FORMATS = 'PNG, JPEG, WebP, GIF, AVIF or HEIC';

function megabytes(n: number): string {
  return `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
}

function toLocalPath(ref: string, projectDir: string): string {
  if (/^file:/i.test(ref)) {
    try {
      return fileURLToPath(ref);
    } catch {
      throw new UserInputError(`input_image ${ref} is not a local file URL.`, {
        next: 'Pass a local path such as "assets/photo.png", or an http(s) URL.',
      });
    }
  }
  if (ref === '~' || ref.startsWith('~/')) return join(homedir(), ref.slice(1));
  return isAbsolute(ref) ? ref : resolve(projectDir, ref);
}

/**
 * input_image as providers take it: http(s) and data: URLs pass through; a local file (absolute, or relative
 * to the project folder) is read, checked to be an image, and returned as a data: URL.
 */
export async function readInputImage(pathOrUrl: string, projectDir: () => Promise<string>): Promise<string> {
  const ref = pathOrUrl.trim();
  if (ref === '') {
    throw new UserInputError('input_image is empty.', {
      next: 'Pass a local image path such as "assets/photo.png", or an http(s) URL.',
    });
  }
  if (/^https?:\/\//i.test(ref) || /^data:/i.test(ref)) return ref;
  // A Windows drive letter ("C:\…") looks like a one-letter scheme, hence two or more letters here.
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(ref) && !/^file:/i.test(ref)) {
    throw new UserInputError(`input_image "${ref.slice(0, 60)}" uses an unsupported scheme.`, {
      next: 'Pass a local path, an http(s) URL, or a data: URL.',
    });
  }

  const dir = await projectDir();
  const path = toLocalPath(ref, dir);
  const relativeNote =
    isAbsolute(ref) || /^file:|^~/i.test(ref) ? [] : [`Relative paths are read from ${dir}.`];
  let bytes: Buffer;
  try {
    const info = await stat(path);
    if (info.isDirectory()) {
      throw new UserInputError(`input_image ${path} is a folder, not an image file.`, {
        next: 'Pass the path of one image file.',
      });
    }
    if (info.size > MAX_INPUT_BYTES) {
      throw new UserInputError(
        `input_image ${path} is ${megabytes(info.size)}; the limit is ${megabytes(MAX_INPUT_BYTES)}.`,
        { next: 'Downscale or recompress it (e.g. to a JPEG or WebP under 10 MB), or pass an http(s) URL.' },
      );
    }
    bytes = await readFile(path);
  } catch (err) {
    if (err instanceof UserInputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new UserInputError(`input_image not found: ${path}.`, {
        facts: relativeNote,
        next: 'Pass an absolute path, a path relative to the project folder, or an http(s) URL.',
      });
    }
    throw new UserInputError(`input_image ${path} cannot be read (${code ?? String(err)}).`, {
      next: 'Check the file permissions, or pass an http(s) URL.',
    });
  }
  const type = sniff(bytes);
  if (!isImage(type)) {
    throw new UserInputError(`input_image ${path} is not a ${FORMATS} image.`, {
      next: `Pass a ${FORMATS} file.`,
    });
  }
  return `data:${type.mimeType};base64,${bytes.toString('base64')}`;
}
