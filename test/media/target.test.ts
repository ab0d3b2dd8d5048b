import { mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserInputError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createMedia, type Media } from '../../src/media/index.js';

let base: string;
let root: string;
let media: Media;

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'atelier-target-')));
  root = join(base, 'generated');
  media = createMedia({
    config: { outputDir: root, cwd: base, dataDir: base },
    roots: async () => [],
    log: silentLogger,
  });
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function rejection(opts: { outputDir?: string; filename?: string }): Promise<UserInputError> {
  const err: unknown = await media.target(opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserInputError);
  return err as UserInputError;
}

describe('target', () => {
  it.each(['../x', '/etc', 'a/../../x', '..', `../${'generated'}-evil`])(
    'rejects output_dir %s as an escape, naming the root and a relative example',
    async (outputDir) => {
      const err = await rejection({ outputDir });
      expect(err.message).toContain('must stay inside the output root');
      expect(err.message).toContain(root);
      expect(err.next).toMatch(/relative.*"hero"/);
    },
  );

  it('rejects a symlink inside the root that points outside', async () => {
    await mkdir(root, { recursive: true });
    await symlink('/tmp', join(root, 'out'));
    const err = await rejection({ outputDir: 'out/sub' });
    expect(err.message).toContain('symlink');
    expect(err.message).toContain(root);
  });

  it('accepts a symlink inside the root that points elsewhere inside it', async () => {
    await mkdir(join(root, 'real'), { recursive: true });
    await symlink(join(root, 'real'), join(root, 'alias'));
    await expect(media.target({ outputDir: 'alias/x' })).resolves.toMatchObject({
      dir: join(root, 'alias', 'x'),
    });
  });

  it('rejects an output_dir that runs into a file', async () => {
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'taken'), 'x');
    const err = await rejection({ outputDir: 'taken/sub' });
    expect(err.message).toContain('runs into a file');
  });

  it.each([
    ['a/b.png', 'base name'],
    ['a\\b.png', 'base name'],
    ['..', 'not a file name'],
    ['.', 'not a file name'],
    ['', 'empty'],
    ['   ', 'empty'],
    ['.png', 'no name'],
    ['bad\0name', 'control character'],
  ])('rejects filename %j (%s)', async (filename, says) => {
    const err = await rejection({ filename });
    expect(err.message).toContain(says);
    expect(err.next).toBeTruthy();
  });

  it.each([
    [
      '100 CJK characters (300 bytes)',
      '猫'.repeat(100),
      /is 300 bytes long in UTF-8; the limit is 180 bytes/,
    ],
    ['a bidi override', 'invoice\u202egnp.exe', /bidirectional override/],
    ['a newline', 'a\nb', /control character/],
    ['a Windows device name', 'CON', /device name Windows reserves/],
    ['a Windows device name with an extension', 'aux.txt', /device name Windows reserves/],
    ['a colon', 'a:b', /character Windows does not allow/],
    ['a star', 'a*b', /character Windows does not allow/],
  ])('rejects a filename with %s', async (_, filename, says) => {
    const err = await rejection({ filename });
    expect(err.message).toMatch(says);
  });

  it.each([
    ['a component over 255 bytes', `ok/${'é'.repeat(130)}`, /is 260 bytes long; a name may have 255/],
    ['a Windows device name', 'assets/nul', /device name Windows reserves/],
    ['a bidi override', 'a\u2066b', /bidirectional override/],
  ])('rejects an output_dir with %s', async (_, outputDir, says) => {
    const err = await rejection({ outputDir });
    expect(err.message).toMatch(says);
  });

  it('rejects a path longer than the system allows before anything is made', async () => {
    const outputDir = Array.from({ length: 25 }, (_, i) => `${i}`.padEnd(200, 'x')).join('/');
    const err = await rejection({ outputDir });
    expect(err.message).toMatch(/The file path would be \d+ bytes long; this system allows \d+/);
  });

  it('rejects a dangling symlink on the way', async () => {
    await mkdir(root, { recursive: true });
    await symlink(join(base, 'gone'), join(root, 'dangling'));
    const err = await rejection({ outputDir: 'dangling/sub' });
    expect(err.message).toContain('is a symlink to something that does not exist');
  });

  it('rejects a symlink loop', async () => {
    await mkdir(root, { recursive: true });
    await symlink(join(root, 'b'), join(root, 'a'));
    await symlink(join(root, 'a'), join(root, 'b'));
    const err = await rejection({ outputDir: 'a/sub' });
    expect(err.message).toContain('symlink loop');
  });

  it('accepts a folder name in any script within 255 bytes', async () => {
    await expect(media.target({ outputDir: '画像/héros', filename: '猫'.repeat(60) })).resolves.toMatchObject(
      {
        dir: join(root, '画像', 'héros'),
      },
    );
  });

  it('accepts a relative nested folder and strips an image extension from filename', async () => {
    await expect(media.target({ outputDir: 'site/hero', filename: 'banner.JPEG' })).resolves.toEqual({
      root,
      dir: join(root, 'site', 'hero'),
      stem: 'banner',
    });
  });

  it('accepts an absolute output_dir inside the root, and dots that stay inside', async () => {
    await expect(media.target({ outputDir: join(root, 'abs') })).resolves.toMatchObject({
      dir: join(root, 'abs'),
    });
    await expect(media.target({ outputDir: 'a/../b' })).resolves.toMatchObject({ dir: join(root, 'b') });
  });

  it('defaults to the root itself and no stem', async () => {
    await expect(media.target({})).resolves.toEqual({ root, dir: root });
  });

  it('writes nothing for a target, valid or not', async () => {
    await media.target({ outputDir: 'new/deep/dir', filename: 'x' });
    await rejection({ outputDir: '../escape' });
    expect(await readdir(root)).toEqual([]);
    expect(await readdir(base)).toEqual(['generated']);
  });
});
