import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserInputError } from '../errors.js';
import { inSystemTree } from './confine.js';
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

// O_NONBLOCK: opening a FIFO to read would otherwise wait for a writer forever. Windows has neither flag.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

function notAFile(path: string, what: string, label: string): UserInputError {
  return new UserInputError(`${label} ${path} is ${what}, not an image file.`, {
    next: 'Pass the path of one regular image file, or an http(s) URL.',
  });
}

/**
 * A regular file's bytes, never more than the limit plus one: the type is checked on the opened descriptor
 * (fstat), so a FIFO, a device or a socket swapped in after any earlier check is refused without a read.
 */
export async function readRegularFile(path: string, label = 'input_image'): Promise<Buffer> {
  // The path as given first: /dev/stdin resolves to a pipe that realpath() cannot name.
  if (inSystemTree(path)) throw notAFile(path, `a system file (${path})`, label);
  const real = await realpath(path).catch(async (err: unknown) => {
    // A link to a pipe (/proc/self/fd/0) or to nothing: there is something at the path, but no file.
    if (
      await lstat(path).then(
        (l) => l.isSymbolicLink(),
        () => false,
      )
    )
      throw notAFile(path, 'a link that leads to no regular file', label);
    throw err;
  });
  if (inSystemTree(real)) throw notAFile(path, `a system file (${real})`, label);
  const handle = await open(real, OPEN_FLAGS);
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw notAFile(path, 'a folder', label);
    if (!info.isFile()) throw notAFile(path, 'a device, pipe or socket', label);
    if (info.size > MAX_INPUT_BYTES) throw tooLarge(path, megabytes(info.size), label);
    // The size stat() reports can grow while we read (a file being written): stop one byte past the limit.
    const buffer = Buffer.alloc(Math.min(info.size, MAX_INPUT_BYTES) + 1);
    let filled = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
      if (filled === buffer.length) {
        if (filled > MAX_INPUT_BYTES) throw tooLarge(path, `more than ${megabytes(MAX_INPUT_BYTES)}`, label);
        break;
      }
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

function tooLarge(path: string, size: string, label: string): UserInputError {
  return new UserInputError(`${label} ${path} is ${size}; the limit is ${megabytes(MAX_INPUT_BYTES)}.`, {
    next: 'Downscale or recompress it (e.g. to a JPEG or WebP under 10 MB), or pass an http(s) URL.',
  });
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
    bytes = await readRegularFile(path);
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
