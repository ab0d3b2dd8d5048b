import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserInputError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createMedia, type Media } from '../../src/media/index.js';

let base: string;
let project: string;
let cwd: string;
let jpeg: Buffer;
let withRoots: Media;
let withoutRoots: Media;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'atelier-input-')));
  project = join(base, 'project');
  cwd = join(base, 'cwd');
  await mkdir(join(project, 'assets'), { recursive: true });
  await mkdir(cwd);
  jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#abc' } })
    .jpeg()
    .toBuffer();
  await writeFile(join(project, 'assets', 'photo.jpg'), jpeg);
  await writeFile(join(cwd, 'local.jpg'), jpeg);
  await writeFile(join(project, 'notes.txt'), 'hello');
  await writeFile(join(project, 'huge.png'), Buffer.alloc(10 * 1024 * 1024 + 1));
  const config = { outputDir: join(base, 'out'), cwd, dataDir: base };
  withRoots = createMedia({ config, roots: async () => [pathToFileURL(project).href], log: silentLogger });
  withoutRoots = createMedia({
    config,
    roots: () => Promise.reject(new Error('no roots')),
    log: silentLogger,
  });
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

async function inputError(media: Media, ref: string): Promise<UserInputError> {
  const err: unknown = await media.readInput(ref).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserInputError);
  return err as UserInputError;
}

describe('readInput', () => {
  it('passes http(s) and data: URLs through untouched', async () => {
    for (const ref of [
      'https://cdn.example.com/a.png?x=1',
      'http://example.com/b.jpg',
      'data:image/png;base64,AAAA',
    ]) {
      expect(await withRoots.readInput(ref)).toBe(ref);
    }
  });

  it('reads a path relative to the first client root as a data: URL of its real type', async () => {
    expect(await withRoots.readInput('assets/photo.jpg')).toBe(
      `data:image/jpeg;base64,${jpeg.toString('base64')}`,
    );
  });

  it('reads relative to the cwd when the client has no roots, and accepts absolute paths and file: URLs', async () => {
    const expected = `data:image/jpeg;base64,${jpeg.toString('base64')}`;
    expect(await withoutRoots.readInput('local.jpg')).toBe(expected);
    expect(await withoutRoots.readInput(join(project, 'assets', 'photo.jpg'))).toBe(expected);
    expect(await withoutRoots.readInput(pathToFileURL(join(cwd, 'local.jpg')).href)).toBe(expected);
  });

  it('names the absolute path it tried when the file is missing', async () => {
    const err = await inputError(withRoots, 'assets/missing.png');
    expect(err.message).toContain(join(project, 'assets', 'missing.png'));
    expect(err.facts.join(' ')).toContain(project);
    expect(err.next).toContain('http(s) URL');
  });

  it('refuses files that are not images, too big, or folders', async () => {
    expect((await inputError(withRoots, 'notes.txt')).message).toContain('is not a PNG, JPEG');
    expect((await inputError(withRoots, 'huge.png')).message).toContain('the limit is 10 MB');
    expect((await inputError(withRoots, 'assets')).message).toContain('is a folder');
  });

  it('refuses other URL schemes', async () => {
    expect((await inputError(withRoots, 'ftp://example.com/a.png')).message).toContain('unsupported scheme');
  });
});
