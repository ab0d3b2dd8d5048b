import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBin, requireBuiltBin, ROOT } from '../helpers/spawn.js';
import { PUBLIC_TOOL_NAMES } from '../helpers/public-api.js';

const run = promisify(execFile);
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};
const TARBALL = `${pkg.name}-${pkg.version}.tgz`;
// npx installs sharp and @napi-rs/keyring from the registry on a cold cache.
const NPX_TIMEOUT_MS = 240_000;

let cloneDir: string;
let packDir: string;
let runDir: string;
let entries: string[];
let npmCache: string;
let npxInstallDir: string;
/** What the README tells users to try with a local build: `npx -y ./<tarball>`, under a name unique to this run. */
let local: string;

/** The user's npm cache, so npx reuses what it downloaded before (npm sets npm_config_cache for scripts). */
async function userNpmCache(): Promise<string> {
  if (process.env.npm_config_cache) return process.env.npm_config_cache;
  try {
    return (await run('npm', ['config', 'get', 'cache'])).stdout.trim();
  } catch {
    return join(homedir(), '.npm');
  }
}

/**
 * The repository as a fresh clone has it: the files git knows (the working tree's copies), no dist/, and the
 * node_modules of `npm ci` (linked). Packing there shows what `npm pack` on a clone ships.
 */
async function freshClone(): Promise<string> {
  const clone = await mkdtemp(join(tmpdir(), 'atelier-clone-'));
  const listed = (
    await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT })
  ).stdout
    .split('\0')
    .filter((f) => f && existsSync(join(ROOT, f)));
  for (const file of listed) {
    await mkdir(dirname(join(clone, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(clone, file));
  }
  await symlink(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
  return clone;
}

beforeAll(async () => {
  requireBuiltBin();
  cloneDir = await freshClone();
  expect(existsSync(join(cloneDir, 'dist'))).toBe(false);
  packDir = await mkdtemp(join(tmpdir(), 'atelier-pack-'));
  await run('npm', ['pack', '--pack-destination', packDir], { cwd: cloneDir, timeout: 120_000 });
  expect(await readdir(packDir)).toEqual([TARBALL]);
  entries = (await run('tar', ['-tzf', join(packDir, TARBALL)])).stdout.split('\n').filter(Boolean);

  npmCache = await userNpmCache();
  runDir = await mkdtemp(join(tmpdir(), 'atelier-npx-'));
  // npx keys its install dir on the literal spec, not on the tarball's content: with one name every run (and every
  // worktree running this test at the same time) would share one install dir and remove it under the others. A
  // name unique to this run has a dir of its own; start from none and leave none behind.
  local = TARBALL.replace(/\.tgz$/, `-${basename(runDir)}.tgz`);
  await copyFile(join(packDir, TARBALL), join(runDir, local));
  const hash = createHash('sha512').update(`./${local}`).digest('hex').slice(0, 16);
  npxInstallDir = join(npmCache, '_npx', hash);
  await rm(npxInstallDir, { recursive: true, force: true });
}, 180_000);

afterAll(async () => {
  if (npxInstallDir) await rm(npxInstallDir, { recursive: true, force: true });
  for (const dir of [cloneDir, packDir, runDir]) if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the npm tarball', () => {
  it('holds the bundle, package.json and the docs, never sources or tests, packed from a fresh clone', () => {
    const files = entries.map((e) => e.replace(/^package\//, ''));
    expect(files).toContain('package.json');
    // A clone has no dist/: prepack builds it (without it the tarball held 4 files and no bin).
    expect(files).toContain('dist/cli.js');
    expect(files.filter((f) => f.startsWith('dist/')).length).toBeGreaterThan(10);
    const allowed = /^(dist\/.+|package\.json|README\.md|mcp\.example\.json|LICENSE(\.md)?)$/;
    expect(files.filter((f) => !allowed.test(f))).toEqual([]);
    expect(files.filter((f) => /^(src|test|tools|prompts|scripts|node_modules)\//.test(f))).toEqual([]);
  });

  it(
    'starts with `npx -y ./<tarball> --sandbox` from an empty folder and lists its tools over stdio',
    async () => {
      const session = await connectBin({
        command: 'npx',
        args: ['-y', `./${local}`, '--sandbox'],
        cwd: runDir,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? homedir(),
          npm_config_cache: npmCache,
          // HOME is the tests' temporary one (test/setup/home.ts): npm's own settings (registry, CA) still apply.
          ...(process.env.npm_config_userconfig
            ? { npm_config_userconfig: process.env.npm_config_userconfig }
            : {}),
          npm_config_update_notifier: 'false',
          npm_config_fund: 'false',
          npm_config_audit: 'false',
        },
        timeoutMs: NPX_TIMEOUT_MS,
      });
      try {
        expect(session.client.getServerVersion()).toMatchObject({
          name: 'atelier-mcp',
          version: pkg.version,
        });
        const { tools } = await session.client.listTools();
        expect(tools).toHaveLength(PUBLIC_TOOL_NAMES.length);
        // The run dir stays as the user left it: npx installs into its own cache.
        expect(await readdir(runDir)).toEqual([local]);
      } finally {
        await session.close();
      }
    },
    NPX_TIMEOUT_MS + 30_000,
  );
});
