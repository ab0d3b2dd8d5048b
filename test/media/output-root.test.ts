import { access, chmod, mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, UserInputError } from '../../src/errors.js';
import type { Logger } from '../../src/log.js';
import { createMedia } from '../../src/media/index.js';

let base: string;
let info: string[];
let log: Logger;

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'atelier-root-')));
  info = [];
  log = { debug() {}, info: (m) => info.push(m), warn() {}, error() {} };
});

afterEach(async () => {
  for (const entry of await readdir(base)) await chmod(join(base, entry), 0o700).catch(() => undefined);
  await rm(base, { recursive: true, force: true });
});

/**
 * A folder this process cannot write: inside a 0500 folder, or, when chmod doesn't stop us (running as
 * root, as CI containers often do), below a regular file. `fix` makes it writable again.
 */
async function unwritable(name: string): Promise<{ path: string; fix: () => Promise<void> }> {
  const locked = join(base, `${name}-locked`);
  await mkdir(locked);
  await chmod(locked, 0o500);
  const chmodWorks = await writeFile(join(locked, 'probe'), '').then(
    () => false,
    () => true,
  );
  if (chmodWorks) return { path: join(locked, name), fix: () => chmod(locked, 0o700) };
  await rm(locked, { recursive: true, force: true });
  const file = join(base, `${name}-file`);
  await writeFile(file, 'not a folder');
  return { path: join(file, name), fix: () => rm(file) };
}

function dirs() {
  return { cwd: join(base, 'cwd'), dataDir: join(base, 'data') };
}

describe('output root', () => {
  it('uses the configured outputDir, creating it, and ignores the client roots', async () => {
    const outputDir = join(base, 'chosen', 'deep');
    let asked = false;
    const media = createMedia({
      config: { outputDir, ...dirs() },
      roots: async () => {
        asked = true;
        return [pathToFileURL(join(base, 'project')).href];
      },
      log,
    });
    expect(await media.root()).toBe(outputDir);
    await access(outputDir);
    expect(asked).toBe(false);
    expect(await readdir(outputDir)).toEqual([]); // the write probe is gone
    expect(info.join('\n')).toContain('ATELIER_OUTPUT_DIR');
  });

  it('rejects a configured outputDir it cannot write, naming it and the setting to change', async () => {
    const outputDir = (await unwritable('out')).path;
    const media = createMedia({ config: { outputDir, ...dirs() }, roots: async () => [], log });
    const err: unknown = await media.root().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserInputError);
    expect((err as UserInputError).message).toContain(outputDir);
    expect((err as UserInputError).next).toContain('ATELIER_OUTPUT_DIR');
    expect((err as UserInputError).next).toContain('--output-dir');
  });

  it.each(['/proc/self', '/dev/shm/atelier', '/sys/kernel'])(
    'refuses a configured outputDir under a system tree (%s) without touching it',
    async (outputDir) => {
      const media = createMedia({ config: { outputDir, ...dirs() }, roots: async () => [], log });
      const err: unknown = await media.root().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserInputError);
      expect((err as UserInputError).message).toMatch(/is a system folder, not a place for files/);
    },
  );

  it('skips a client root that is a link into /proc and falls back to the cwd', async () => {
    await symlink('/proc/self', join(base, 'project'));
    const media = createMedia({
      config: { outputDir: undefined, ...dirs() },
      roots: async () => [pathToFileURL(join(base, 'project')).href],
      log,
    });
    expect(await media.root()).toBe(join(base, 'cwd', 'generated'));
    expect(info.join('\n')).toMatch(/system folder/);
  });

  it('uses generated/ under the first file:// root, creating it, and caches the choice', async () => {
    const project = join(base, 'project');
    await mkdir(project);
    let calls = 0;
    const media = createMedia({
      config: { outputDir: undefined, ...dirs() },
      roots: async () => {
        calls++;
        return ['https://example.com/not-a-file-root', pathToFileURL(project).href, pathToFileURL(base).href];
      },
      log,
    });
    const [a, b] = await Promise.all([media.root(), media.root()]);
    expect(a).toBe(join(project, 'generated'));
    expect(b).toBe(a);
    expect(await media.root()).toBe(a);
    await access(a);
    expect(calls).toBe(1);
    expect(info).toHaveLength(1);
    expect(info[0]).toContain("client's first root");
  });

  it('falls back to the cwd when the first root is not writable, and says why', async () => {
    const project = (await unwritable('project')).path;
    const media = createMedia({
      config: { outputDir: undefined, ...dirs() },
      roots: async () => [pathToFileURL(project).href],
      log,
    });
    expect(await media.root()).toBe(join(base, 'cwd', 'generated'));
    expect(info[0]).toMatch(/ENOTDIR|EACCES/);
    expect(info[0]).toContain(join(project, 'generated'));
  });

  it('falls back to the cwd when the client does not support roots', async () => {
    const media = createMedia({
      config: { outputDir: undefined, ...dirs() },
      roots: () => Promise.reject(new Error('Method not found')),
      log,
    });
    expect(await media.root()).toBe(join(base, 'cwd', 'generated'));
    expect(info[0]).toContain('Method not found');
  });

  it('falls back to the data dir when neither a root nor the cwd is writable', async () => {
    const cwd = (await unwritable('cwd')).path;
    const media = createMedia({
      config: { outputDir: undefined, cwd, dataDir: join(base, 'data') },
      roots: async () => [],
      log,
    });
    expect(await media.root()).toBe(join(base, 'data', 'generated'));
  });

  it('says what it tried when nothing is writable, and tries again on the next call', async () => {
    const dataDir = (await unwritable('data')).path;
    const { path: cwd, fix } = await unwritable('cwd');
    const media = createMedia({ config: { outputDir: undefined, cwd, dataDir }, roots: async () => [], log });
    const err: unknown = await media.root().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).facts.join('\n')).toContain(join(cwd, 'generated'));
    expect((err as ConfigurationError).next).toContain('ATELIER_OUTPUT_DIR');

    await fix();
    expect(await media.root()).toBe(join(cwd, 'generated'));
  });
});
