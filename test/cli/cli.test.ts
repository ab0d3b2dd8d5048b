import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.js';
import {
  SANDBOX_PIXELMUSE_KEY,
  startPixelmuseEmulator,
  type PixelmuseEmulator,
} from '../../src/sandbox/index.js';
import { BIN, cleanEnv, requireBuiltBin, ROOT, runCli, type RunResult } from '../helpers/spawn.js';
import { PUBLIC_TOOL_NAMES as ALL_TOOLS } from '../helpers/public-api.js';

const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const REJECTED_KEY = 'pm_test_0123456789abcdef0123456789abcdef';
const ODD_KEY = 'pm_live_short';
const READ_ONLY = [
  'list_models',
  'get_pricing',
  'account_status',
  'spend_report',
  'modelslab_profile',
  'modelslab_usage',
  'pixelmuse_list_images',
  'modelslab_wallet',
  'modelslab_list_plans',
];

let home: string;
let emulator: PixelmuseEmulator;
const seen: RunResult[] = [];

/** Every run is kept: afterAll checks that no full key ever reached stdout or stderr. */
async function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<RunResult> {
  const result = await runCli(args, {
    env: cleanEnv({ ATELIER_CREDENTIAL_STORE: 'file', ATELIER_HOME: home, ...env }),
    ...(input !== undefined ? { input } : {}),
  });
  seen.push(result);
  return result;
}

const credentialsFile = () => join(home, 'credentials.json');

beforeAll(async () => {
  requireBuiltBin();
  emulator = await startPixelmuseEmulator({ apiKeys: [SANDBOX_PIXELMUSE_KEY, ODD_KEY] });
});

afterEach(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

afterAll(async () => {
  await emulator?.close();
  for (const { stdout, stderr } of seen) {
    for (const key of [SANDBOX_PIXELMUSE_KEY, REJECTED_KEY, ODD_KEY]) {
      expect(stdout).not.toContain(key);
      expect(stderr).not.toContain(key);
    }
  }
});

const freshHome = async () => {
  home = await mkdtemp(join(tmpdir(), 'atelier-cli-'));
};

describe('atelier-mcp --version and --help', () => {
  it('--version prints the package.json version and nothing else', async () => {
    await freshHome();
    const { code, stdout } = await cli(['--version']);
    expect(code).toBe(0);
    expect(stdout).toBe(`${pkg.version}\n`);
  });

  it('--help names every flag and every env var it reads', async () => {
    await freshHome();
    const { code, stdout } = await cli(['--help']);
    expect(code).toBe(0);
    for (const setting of SETTINGS) {
      expect(stdout).toContain(setting.env);
      if (setting.flag) expect(stdout).toContain(setting.flag.split(' ')[0]);
    }
    for (const command of ['tools', 'prompts', 'status', 'login pixelmuse', 'logout pixelmuse'])
      expect(stdout).toContain(command);
  });

  it('an unknown command exits 2 with a Next: hint on stderr and nothing on stdout', async () => {
    await freshHome();
    const { code, stdout, stderr } = await cli(['paint']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Unknown command "paint"');
    expect(stderr).toMatch(/^Next: .*--help/m);
  });
});

describe('each command explains itself', () => {
  it.each(['login', 'logout', 'status', 'tools', 'prompts'])(
    '`%s --help`, and help followed by the command, print that command’s usage, not the whole bin’s',
    async (command) => {
      await freshHome();
      for (const args of [
        [command, '--help'],
        ['help', command],
      ]) {
        const { code, stdout } = await cli(args);
        expect(code).toBe(0);
        expect(stdout).toMatch(new RegExp(`^Usage: atelier-mcp ${command}\\b`));
        expect(stdout).not.toContain('serve MCP over stdio');
      }
    },
  );

  it('an unknown option exits 2 with a plain message, its quotes balanced', async () => {
    await freshHome();
    const { code, stdout, stderr } = await cli(['--bogus']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^Invalid input: Unknown option --bogus\.$/m);
    expect(stderr).toMatch(/^Next: .*--help/m);
    for (const quote of ["'", '"', '`']) expect(stderr.split(quote).length % 2, quote).toBe(1);
  });
});

describe('atelier-mcp tools', () => {
  const rows = (stdout: string) =>
    stdout
      .split('\n')
      .map((l) => /^(\w+)\s+(\w+)\s+(yes|no)\s+(\d+)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null);

  it('prints each tool with its toolset, read-only flag and token estimate, then a total', async () => {
    await freshHome();
    const { code, stdout } = await cli(['tools']);
    expect(code).toBe(0);
    const listed = rows(stdout);
    // Nothing is configured here, so the train toolset (on only where ModelsLab is) is off.
    const DEFAULT_TOOLS = ALL_TOOLS.filter((n) => !n.startsWith('modelslab_train'));
    expect(listed.map((m) => m[1])).toEqual(DEFAULT_TOOLS);
    expect(listed.find((m) => m[1] === 'generate_image')?.slice(2, 4)).toEqual(['generate', 'no']);
    expect(listed.find((m) => m[1] === 'pixelmuse_list_images')?.slice(2, 4)).toEqual(['images', 'yes']);
    for (const m of listed) expect(Number(m[4])).toBeGreaterThan(20);
    const total = new RegExp(`^${DEFAULT_TOOLS.length} tools, about (\\d+) tokens of tools/list`, 'm').exec(
      stdout,
    );
    expect(total).not.toBeNull();
    const sum = listed.reduce((n, m) => n + Number(m[4]), 0);
    expect(Math.abs(Number(total![1]) - sum)).toBeLessThan(sum * 0.05);
  });

  it('stops quietly when the reader of its output goes away (tools | head -1)', async () => {
    await freshHome();
    const child = spawn(process.execPath, [BIN, 'tools'], {
      env: cleanEnv({ ATELIER_CREDENTIAL_STORE: 'file', ATELIER_HOME: home }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // Like head -1: read the first chunk, then close the pipe while the bin is still writing.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });

  it('--read-only lists only the read-only tools', async () => {
    await freshHome();
    const { code, stdout } = await cli(['tools', '--read-only']);
    expect(code).toBe(0);
    expect(rows(stdout).map((m) => [m[1], m[3]])).toEqual(READ_ONLY.map((name) => [name, 'yes']));
    expect(stdout).toMatch(new RegExp(`^${READ_ONLY.length} tools, about \\d+ tokens`, 'm'));
  });
});

describe('atelier-mcp prompts', () => {
  it('lists built-in and user prompts with their arguments and source, and exits 0 when every file loads', async () => {
    await freshHome();
    await mkdir(join(home, 'prompts'));
    await writeFile(
      join(home, 'prompts', 'avatar.yml'),
      'name: avatar\nprompt: "Avatar of {{ who }}"\nvariables: { who: }\n',
    );
    const { code, stdout, stderr } = await cli(['prompts']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^onboard_modelslab +workflow +email\*, name +built-in$/m);
    expect(stdout).toMatch(
      /^blog_thumbnail +image +topic\*, style, palette, provider, model, aspect_ratio +built-in$/m,
    );
    expect(stdout).toMatch(
      new RegExp(
        `^avatar +image +who\\*, provider, model, aspect_ratio +${join(home, 'prompts', 'avatar.yml')}$`,
        'm',
      ),
    );
    expect(stdout).toContain('9 built-in and 1 user prompts.');
  });

  it('reports a malformed file by name, lists the rest, and exits 1', async () => {
    await freshHome();
    await mkdir(join(home, 'prompts'));
    await writeFile(join(home, 'prompts', 'bad.yaml'), 'name: [oops\n');
    await writeFile(join(home, 'prompts', 'hero.yaml'), 'name: hero_image\nprompt: "Mine"\n');
    const { code, stdout } = await cli(['prompts']);
    expect(code).toBe(1);
    expect(stdout).toContain(`skipped ${join(home, 'prompts', 'bad.yaml')}: not valid YAML`);
    expect(stdout).toMatch(
      /^hero_image +image +provider, model, aspect_ratio +.*hero\.yaml \(replaces the built-in\)$/m,
    );
    expect(stdout).toContain('1 skipped');
  });
});

describe('atelier-mcp status, login and logout (file store)', () => {
  it('status says not configured and how to fix it when there is no key', async () => {
    await freshHome();
    const { code, stdout } = await cli(['status']);
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^pixelmuse: not configured \(run `atelier-mcp login pixelmuse` or set PIXELMUSE_API_KEY\)$/m,
    );
  });

  it('status shows a key from the env masked, with its source', async () => {
    await freshHome();
    const { code, stdout } = await cli(['status'], { PIXELMUSE_API_KEY: SANDBOX_PIXELMUSE_KEY });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^pixelmuse: configured, pm_test_5a…7e40 from env PIXELMUSE_API_KEY/m);
  });

  it('login stores a key Pixelmuse accepts (0600 file), status shows it masked, logout removes it', async () => {
    await freshHome();
    const env = { PIXELMUSE_BASE_URL: emulator.url };
    const login = await cli(['login', 'pixelmuse'], env, `${SANDBOX_PIXELMUSE_KEY}\n`);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toContain('Key accepted by Pixelmuse: sandbox@atelier.test');
    expect(login.stdout).toContain(`Stored pm_test_5a…7e40 in file ${credentialsFile()}.`);
    expect(login.stderr).not.toContain('not shaped like');
    expect(JSON.parse(await readFile(credentialsFile(), 'utf8'))).toEqual({
      pixelmuse_api_key: SANDBOX_PIXELMUSE_KEY,
    });
    expect((await stat(credentialsFile())).mode & 0o777).toBe(0o600);
    const probe = emulator.requests.at(-1);
    expect([probe?.method, probe?.path]).toEqual(['GET', '/api/v1/account']);

    const status = await cli(['status'], env);
    expect(status.stdout).toMatch(
      new RegExp(
        `^pixelmuse: configured, pm_test_5a…7e40 from file ${credentialsFile().replace(/[.]/g, '\\.')}`,
        'm',
      ),
    );

    const logout = await cli(['logout', 'pixelmuse'], env);
    expect(logout.code).toBe(0);
    expect(logout.stdout).toContain('Removed the Pixelmuse key from: file.');
    expect(JSON.parse(await readFile(credentialsFile(), 'utf8'))).toEqual({});
    expect((await cli(['status'], env)).stdout).toContain('pixelmuse: not configured');
  });

  it('login refuses a key Pixelmuse rejects (401) and stores nothing', async () => {
    await freshHome();
    const { code, stdout, stderr } = await cli(
      ['login', 'pixelmuse'],
      { PIXELMUSE_BASE_URL: emulator.url },
      `${REJECTED_KEY}\n`,
    );
    expect(code).not.toBe(0);
    expect(stdout).not.toContain('Stored');
    expect(stderr).toContain('Pixelmuse rejected that key; nothing was stored.');
    expect(stderr).toMatch(/^Next: /m);
    await expect(stat(credentialsFile())).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('login warns on a key not shaped like pm_live_/pm_test_ + 32 hex, and stores it once Pixelmuse accepts it', async () => {
    await freshHome();
    const { code, stdout, stderr } = await cli(
      ['login', 'pixelmuse'],
      { PIXELMUSE_BASE_URL: emulator.url },
      `${ODD_KEY}\n`,
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/warn: .*not shaped like pm_live_… or pm_test_…/);
    expect(stdout).toContain('Stored pm_live_***');
    expect(JSON.parse(await readFile(credentialsFile(), 'utf8'))).toEqual({ pixelmuse_api_key: ODD_KEY });
  });

  it('login accepts an account answer without credits and says the balance was not reported', async () => {
    await freshHome();
    emulator.inject({
      method: 'GET',
      path: '/api/v1/account',
      rewrite: ({ credits: _credits, ...account }) => account,
    });
    const { code, stdout, stderr } = await cli(
      ['login', 'pixelmuse'],
      { PIXELMUSE_BASE_URL: emulator.url },
      `${SANDBOX_PIXELMUSE_KEY}\n`,
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(
      'Key accepted by Pixelmuse: sandbox@atelier.test, plan free, balance not reported.',
    );
    expect(stdout).toContain('Stored pm_test_5a…7e40');
  });

  it.each([
    ['--sandbox', ['login', 'pixelmuse', '--sandbox'], {}],
    ['ATELIER_SANDBOX=1', ['login', 'pixelmuse'], { ATELIER_SANDBOX: '1' }],
    ['logout --sandbox', ['logout', 'pixelmuse', '--sandbox'], {}],
  ])(
    'login and logout in the sandbox (%s) exit 2 and reach no service',
    async (_, args, extra: Record<string, string>) => {
      await freshHome();
      const before = emulator.requests.length;
      const { code, stdout, stderr } = await cli(
        args,
        { PIXELMUSE_BASE_URL: emulator.url, ...extra },
        `${SANDBOX_PIXELMUSE_KEY}\n`,
      );
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toMatch(/does nothing in the sandbox/);
      expect(stderr).toMatch(/^Next: /m);
      expect(emulator.requests.length).toBe(before);
      await expect(stat(credentialsFile())).rejects.toMatchObject({ code: 'ENOENT' });
    },
  );

  it('status --sandbox shows what a sandboxed server holds: test keys in memory, never a real one', async () => {
    await freshHome();
    const { code, stdout } = await cli(['status', '--sandbox'], { PIXELMUSE_API_KEY: 'pm_live_real_one' });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^atelier-mcp status \(sandbox\)$/m);
    expect(stdout).toMatch(
      /^pixelmuse: configured, pm_test_5a…7e40 from memory \(sandbox\) \(API: an emulator on 127\.0\.0\.1/m,
    );
    expect(stdout).toMatch(/^modelslab: configured, token none, API key Sb…c7e9 from memory \(sandbox\)/m);
    expect(stdout).toMatch(/^credential store: memory \(sandbox: nothing is read from or written/m);
    expect(stdout).not.toContain(credentialsFile());
  });

  it('login with nothing on stdin exits 2 and stores nothing', async () => {
    await freshHome();
    const { code, stderr } = await cli(['login', 'pixelmuse'], { PIXELMUSE_BASE_URL: emulator.url }, '\n');
    expect(code).toBe(2);
    expect(stderr).toContain('No key was given.');
    await expect(stat(credentialsFile())).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
