import { mkdir, mkdtemp, readFile, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, UserInputError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createMedia, type Media } from '../../src/media/index.js';

let root: string;
let media: Media;

beforeEach(async () => {
  root = await realpath(await mkdtemp(join(tmpdir(), 'atelier-save-')));
  media = createMedia({
    config: { outputDir: root, cwd: root, dataDir: root },
    roots: async () => [],
    log: silentLogger,
  });
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function png(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#3366cc' } })
    .png()
    .toBuffer();
}

describe('save', () => {
  it('names the file after the real type even when filename says otherwise, and writes the exact bytes', async () => {
    const bytes = await png(64, 48);
    const saved = await media.save(bytes, await media.target({ filename: 'hero.jpg' }), {
      fallbackName: 'x',
    });
    expect(saved).toEqual({
      path: join(root, 'hero.png'),
      bytes: bytes.length,
      mimeType: 'image/png',
      width: 64,
      height: 48,
    });
    expect((await readFile(saved.path)).equals(bytes)).toBe(true);
  });

  it('keeps a non-image extension the user typed as part of the name', async () => {
    const saved = await media.save(await png(), await media.target({ filename: 'hero.v2' }), {
      fallbackName: 'x',
    });
    expect(basename(saved.path)).toBe('hero.v2.png');
  });

  it('falls back to a slug of fallbackName, in a nested output_dir it creates', async () => {
    const target = await media.target({ outputDir: 'site/hero' });
    const saved = await media.save(await png(), target, { fallbackName: 'A red fox, at dawn!' });
    expect(saved.path).toBe(join(root, 'site', 'hero', 'a-red-fox-at-dawn.png'));
  });

  it('never overwrites: a.png, a-2.png, a-3.png, each with its own content', async () => {
    const target = await media.target({ filename: 'a' });
    const first = await png();
    const versions = [
      first,
      Buffer.concat([first, Buffer.from('two')]),
      Buffer.concat([first, Buffer.from('three')]),
    ];
    const paths: string[] = [];
    for (const bytes of versions) paths.push((await media.save(bytes, target, { fallbackName: 'x' })).path);
    expect(paths.map((p) => basename(p))).toEqual(['a.png', 'a-2.png', 'a-3.png']);
    for (const [i, p] of paths.entries()) expect((await readFile(p)).equals(versions[i]!)).toBe(true);
  });

  it('gives 20 concurrent saves of one name 20 distinct complete files and leaves no temp file', async () => {
    const target = await media.target({ filename: 'same.png' });
    const first = await png();
    const versions = Array.from({ length: 20 }, (_, i) => Buffer.concat([first, Buffer.from(`#${i}`)]));
    const saved = await Promise.all(versions.map((b) => media.save(b, target, { fallbackName: 'x' })));

    const names = saved.map((s) => basename(s.path));
    expect(new Set(names).size).toBe(20);
    expect(names.sort()).toEqual(
      ['same.png', ...Array.from({ length: 19 }, (_, i) => `same-${i + 2}.png`)].sort(),
    );
    expect((await readdir(root)).sort()).toEqual(names.sort());
    for (const [i, s] of saved.entries()) expect((await readFile(s.path)).equals(versions[i]!)).toBe(true);
  });

  it('saves unknown bytes as .bin', async () => {
    const saved = await media.save(Buffer.from('not an image'), await media.target({}), {
      fallbackName: 'odd',
    });
    expect(saved).toMatchObject({ path: join(root, 'odd.bin'), mimeType: 'application/octet-stream' });
    expect(saved.width).toBeUndefined();
  });

  it('gets the size of an AVIF from its metadata', async () => {
    const avif = await sharp({ create: { width: 40, height: 30, channels: 3, background: '#000' } })
      .avif()
      .toBuffer();
    const saved = await media.save(avif, await media.target({}), { fallbackName: 'pic' });
    expect(saved).toMatchObject({
      path: join(root, 'pic.avif'),
      mimeType: 'image/avif',
      width: 40,
      height: 30,
    });
  });

  it('records the source URL, but only the header of a data: URI', async () => {
    const bytes = await png();
    const target = await media.target({});
    const fromUrl = await media.save(bytes, target, {
      fallbackName: 'u',
      source: 'https://cdn.example/x.png',
    });
    const fromData = await media.save(bytes, target, {
      fallbackName: 'd',
      source: `data:image/png;base64,${bytes.toString('base64')}`,
    });
    expect(fromUrl.source).toBe('https://cdn.example/x.png');
    expect(fromData.source).toBe('data:image/png;base64,…');
  });

  it('refuses to write when the folder was swapped for a symlink leading outside after target()', async () => {
    const outside = await realpath(await mkdtemp(join(tmpdir(), 'atelier-outside-')));
    try {
      const target = await media.target({ outputDir: 'late' });
      await symlink(outside, join(root, 'late'));
      await expect(media.save(await png(), target, { fallbackName: 'x' })).rejects.toThrow(UserInputError);
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('makes no folder outside the root when a symlink is swapped in above folders still to be made', async () => {
    const outside = await realpath(await mkdtemp(join(tmpdir(), 'atelier-outside-')));
    try {
      const target = await media.target({ outputDir: 'late/deeper/deepest' });
      await symlink(outside, join(root, 'late'));
      await expect(media.save(await png(), target, { fallbackName: 'x' })).rejects.toThrow(
        /late now resolves to .*, outside the output root/,
      );
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  it('reports a folder it cannot create as a ConfigurationError and writes nothing', async () => {
    await writeFile(join(root, 'blocker'), 'a file');
    const target = { root, dir: join(root, 'blocker', 'sub') };
    await expect(media.save(await png(), target, { fallbackName: 'x' })).rejects.toThrow(ConfigurationError);
    expect(await readdir(root)).toEqual(['blocker']);
  });

  it('writes into an existing nested folder without touching other files', async () => {
    await mkdir(join(root, 'keep'));
    await writeFile(join(root, 'keep', 'hero.png'), 'old');
    const saved = await media.save(await png(), await media.target({ outputDir: 'keep', filename: 'hero' }), {
      fallbackName: 'x',
    });
    expect(basename(saved.path)).toBe('hero-2.png');
    expect(await readFile(join(root, 'keep', 'hero.png'), 'utf8')).toBe('old');
  });
});
