// Every test file runs with HOME, ATELIER_HOME and the XDG config and data folders in a temporary folder of its own,
// so that `npm test` never reads or writes the user's own atelier-mcp configuration (credentials, the spend ledger,
// saved generations, prompt templates) and a later real session never lists what a test left there. This is the one
// place that decides it (vitest.config.ts `setupFiles`); a test that points itself or a child process back at the
// real folders fails.
import childProcess from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach } from 'vitest';

type Env = Record<string, string | undefined>;

/** Where atelier-mcp keeps its configuration and its data for this environment, as src/config.ts derives them. */
export function atelierFolders(env: Env, cwd = process.cwd()): { home: string; data: string } {
  // A child without HOME gets the account's home from the password database.
  const home = env.HOME || userInfo().homedir;
  const config = env.XDG_CONFIG_HOME || join(home, '.config');
  return {
    home: resolve(cwd, env.ATELIER_HOME || join(config, 'atelier-mcp')),
    data: resolve(cwd, env.XDG_DATA_HOME || join(home, '.local', 'share'), 'atelier-mcp'),
  };
}

// Recorded once per worker process: a worker runs several files, and the first one already changed process.env.
const REAL_KEY = 'ATELIER_TEST_REAL_FOLDERS';
process.env[REAL_KEY] ??= JSON.stringify(atelierFolders(process.env));
/** The user's own folders, which no test may use. */
export const REAL: { home: string; data: string } = JSON.parse(process.env[REAL_KEY]!) as {
  home: string;
  data: string;
};

/** Why this environment would reach the user's own folders, or undefined. */
export function reachesRealFolders(env: Env, cwd?: string): string | undefined {
  const folders = atelierFolders(env, cwd);
  if (folders.home === REAL.home) return `its atelier-mcp home is the user's own ${REAL.home}`;
  if (folders.data === REAL.data) return `its atelier-mcp data folder is the user's own ${REAL.data}`;
  return undefined;
}

const temp = realpathSync(mkdtempSync(join(tmpdir(), 'atelier-test-home-')));
const testEnv = {
  HOME: temp,
  XDG_CONFIG_HOME: join(temp, '.config'),
  XDG_DATA_HOME: join(temp, '.local', 'share'),
  ATELIER_HOME: join(temp, '.config', 'atelier-mcp'),
};
Object.assign(process.env, testEnv);

/** Problems seen since the last test ended: each fails the test that caused it, even when it caught the throw. */
const problems: string[] = [];

/** Throws (and records) when the process a test starts would reach the user's folders. */
function check(args: unknown[]): void {
  // The options are the first plain object after the command (a child's arguments are an array).
  const options = args.find((a, i) => i > 0 && typeof a === 'object' && a !== null && !Array.isArray(a));
  const command = args[0];
  const opts = (options ?? {}) as { env?: Env; cwd?: string | URL };
  const why = reachesRealFolders(
    opts.env ?? process.env,
    opts.cwd === undefined ? undefined : String(opts.cwd),
  );
  if (why === undefined) return;
  const problem = `a test started ${String(command)} with an environment that reaches the user's configuration: ${why}. Pass cleanEnv() (test/helpers/spawn.ts) or process.env.`;
  problems.push(problem);
  throw new Error(problem);
}

type Launcher = ((...args: unknown[]) => unknown) & { [UNGUARDED]?: Launcher };
// The module is shared by every file a worker runs: each file guards the original functions again, never its guard.
const UNGUARDED = Symbol.for('atelier-mcp.test.unguarded');
const launchers = childProcess as unknown as Record<string, Launcher>;
// Every way a test starts a process.
for (const name of ['spawn', 'spawnSync', 'execFile', 'execFileSync', 'exec', 'execSync', 'fork']) {
  const original = launchers[name]![UNGUARDED] ?? launchers[name]!;
  const guarded: Launcher = function (this: unknown, ...args: unknown[]) {
    check(args);
    return original.apply(this, args);
  };
  guarded[UNGUARDED] = original;
  // promisify(execFile) resolves to { stdout, stderr } through the original's own promisified form.
  const promised = (original as unknown as Record<symbol, Launcher | undefined>)[promisify.custom];
  if (promised) {
    Object.defineProperty(guarded, promisify.custom, {
      value(this: unknown, ...args: unknown[]) {
        check(args);
        return promised.apply(this, args);
      },
    });
  }
  launchers[name] = guarded;
}
// `import { spawn } from 'node:child_process'` sees the guarded functions too.
syncBuiltinESMExports();

/** What reached the user's folders since the last call (a child's environment, process.env); resets process.env. */
export function takeProblems(): string[] {
  const inProcess = reachesRealFolders(process.env);
  // The temporary folders go back first, so that one test's mistake does not spread to the next.
  Object.assign(process.env, testEnv);
  return [...problems.splice(0), ...(inProcess ? [`process.env was changed: ${inProcess}`] : [])];
}

afterEach(() => {
  const found = takeProblems();
  if (found.length > 0)
    throw new Error(`This test reached the user's own atelier-mcp folders:\n${found.join('\n')}`);
});

afterAll(() => {
  rmSync(temp, { recursive: true, force: true });
});
