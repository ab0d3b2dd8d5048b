import { readdir, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserInputError } from '../errors.js';
import { isInside } from './confine.js';
import { readRegularFile } from './input.js';
import { isImage, sniff } from './sniff.js';

/** More than any LoRA needs (ModelsLab suggests 7-8; max_train_steps tops out at 50 = 2 per image). */
export const MAX_TRAINING_IMAGES = 30;

/** An image the training takes: a URL as given, or a checked file of the project to upload. */
export type TrainingImage = { url: string } | { path: string };

const LABEL = 'images:';

/**
 * The images of a training, checked before anything is paid: URLs pass; a folder gives its files (not its
 * subfolders, nor hidden files); every file is inside the project once symlinks are resolved, a regular
 * file (no FIFO, device or socket), at most 10 MB (known before it is read) and a PNG, JPEG, WebP, GIF,
 * AVIF or HEIC image by its bytes.
 */
export async function collectTrainingImages(refs: string[], projectDir: string): Promise<TrainingImage[]> {
  const project = await realpath(projectDir);
  const out: TrainingImage[] = [];
  for (const raw of refs) {
    const ref = raw.trim();
    if (/^https?:\/\//i.test(ref)) {
      out.push({ url: ref });
      continue;
    }
    if (/^[a-z][a-z0-9+.-]+:/i.test(ref)) {
      throw new UserInputError(
        `images: "${ref.slice(0, 60)}" is neither a project path nor an http(s) URL.`,
        {
          next: 'Pass files or a folder inside the project, or http(s) URLs.',
        },
      );
    }
    const path =
      ref === '~' || ref.startsWith('~/') ? join(homedir(), ref.slice(1)) : resolve(projectDir, ref);
    const real = await inProject(path, project);
    const entries = await readdir(real, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTDIR') return undefined;
      throw error;
    });
    if (!entries) {
      out.push(await checked(path, project));
      continue;
    }
    const files = entries
      .filter((e) => !e.name.startsWith('.') && !e.isDirectory())
      .map((e) => join(real, e.name))
      .sort();
    if (files.length === 0) {
      throw new UserInputError(`images: the folder ${path} has no files.`, {
        next: 'Pass a folder with the training pictures in it, or the files themselves.',
      });
    }
    for (const file of files) out.push(await checked(file, project));
  }
  if (out.length === 0) throw new UserInputError('images is empty.', { next: 'Pass at least one image.' });
  if (out.length > MAX_TRAINING_IMAGES) {
    throw new UserInputError(
      `images: ${out.length} images; a training takes at most ${MAX_TRAINING_IMAGES}.`,
      {
        next: 'Pick the best 7-20 (ModelsLab suggests about 8).',
      },
    );
  }
  return out;
}

/** A local image as the upload takes it, checked again as it is read (it may have changed since). */
export async function readTrainingImage(path: string, projectDir: string): Promise<string> {
  const project = await realpath(projectDir);
  const bytes = await imageBytes(await inProject(path, project), path);
  return `data:${sniff(bytes).mimeType};base64,${bytes.toString('base64')}`;
}

async function checked(path: string, project: string): Promise<TrainingImage> {
  await imageBytes(await inProject(path, project), path);
  return { path };
}

/** The real path, refused when it is missing or leads out of the project (a symlink, `..`, an absolute path). */
async function inProject(path: string, project: string): Promise<string> {
  const real = await realpath(path).catch((error: NodeJS.ErrnoException) => {
    throw new UserInputError(
      error.code === 'ENOENT'
        ? `images: ${path} does not exist (or is a link to nothing).`
        : `images: ${path} cannot be read (${error.code ?? String(error)}).`,
      {
        facts: [`Relative paths are read from ${project}.`],
        next: 'Pass files or a folder inside the project.',
      },
    );
  });
  if (!isInside(project, real)) {
    throw new UserInputError(
      `images: ${path} leads outside the project (to ${real}); nothing was uploaded.`,
      {
        next: `Copy the pictures into the project (${project}) and pass that folder.`,
      },
    );
  }
  return real;
}

async function imageBytes(real: string, shown: string): Promise<Buffer> {
  const bytes = await readRegularFile(real, LABEL);
  if (!isImage(sniff(bytes))) {
    throw new UserInputError(`images: ${shown} is not a PNG, JPEG, WebP, GIF, AVIF or HEIC image.`, {
      next: 'Remove it from the folder, or pass the image files one by one.',
    });
  }
  return bytes;
}
