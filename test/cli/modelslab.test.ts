import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  SANDBOX_MODELSLAB_EMAIL,
  SANDBOX_MODELSLAB_KEY,
  startModelslabEmulator,
  type ModelslabEmulator,
} from '../../src/sandbox/index.js';
import { cleanEnv, requireBuiltBin, runCli, type RunResult } from '../helpers/spawn.js';

let home: string;
let emulator: ModelslabEmulator;
const seen: RunResult[] = [];
const PASSWORD = 'sandbox-password';

async function cli(args: string[], input?: string, env: Record<string, string> = {}): Promise<RunResult> {
  const result = await runCli(args, {
    env: cleanEnv({
      ATELIER_CREDENTIAL_STORE: 'file',
      ATELIER_HOME: home,
      MODELSLAB_BASE_URL: emulator.url,
      ...env,
    }),
    ...(input !== undefined ? { input } : {}),
  });
  seen.push(result);
  return result;
}

const stored = async () =>
  JSON.parse(await readFile(join(home, 'credentials.json'), 'utf8').catch(() => '{}')) as Record<
    string,
    string
  >;

beforeAll(async () => {
  requireBuiltBin();
  emulator = await startModelslabEmulator();
});
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'atelier-cli-ml-'));
});
afterEach(async () => rm(home, { recursive: true, force: true }));
afterAll(async () => {
  await emulator?.close();
  const tokens = emulator.accounts.tokens.map((t) => t.value);
  for (const { stdout, stderr } of seen) {
    for (const secret of [PASSWORD, SANDBOX_MODELSLAB_KEY, ...tokens]) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
  }
});

describe('atelier-mcp login modelslab', () => {
  it('reads the email and the password from stdin, stores token, expiry and key, and status shows them', async () => {
    const { code, stdout, stderr } = await cli(
      ['login', 'modelslab', '--token-expiry', '3_months'],
      `${SANDBOX_MODELSLAB_EMAIL}\n${PASSWORD}\n`,
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(`Logged in to ModelsLab as ${SANDBOX_MODELSLAB_EMAIL}.`);
    expect(stdout).toMatch(/- access token: stored in file .*credentials\.json \(expires \d{4}-\d\d-\d\d;/);
    const issued = emulator.accounts.tokens.at(-1)!;
    expect(issued.expiry).toBe('3_months');
    expect(emulator.requests.at(-1)?.body).toMatchObject({
      token_expiry: '3_months',
      device_name: 'atelier-mcp',
    });
    expect(await stored()).toMatchObject({
      modelslab_token: issued.value,
      modelslab_api_key: SANDBOX_MODELSLAB_KEY,
      modelslab_token_expires_at: new Date(issued.expiresMs!).toISOString(),
    });

    const status = await cli(['status']);
    expect(status.stdout).toMatch(
      /^modelslab: configured, token \S+ from file \S+ \(expires \d{4}-\d\d-\d\d\), API key Sb…c7e9 from file/m,
    );
  });

  it('a wrong password exits 1 with the ModelsLab error and stores nothing', async () => {
    const { code, stderr } = await cli(
      ['login', 'modelslab'],
      `${SANDBOX_MODELSLAB_EMAIL}\nwrong-password\n`,
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/invalid_credentials \(HTTP 401/);
    expect(await stored()).toEqual({});
  });

  it('without a password, or with a bad --token-expiry, exits 2', async () => {
    expect((await cli(['login', 'modelslab'], `${SANDBOX_MODELSLAB_EMAIL}\n`)).code).toBe(2);
    const bad = await cli(['login', 'modelslab', '--token-expiry', '1_year'], `a@b.c\npw\n`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Use one of: 1_week, 1_month, 3_months, never.');
    expect((await cli(['login', 'pixelmuse', '--api-key'], 'x\n')).code).toBe(2);
  });

  it('--api-key stores a key read from stdin, without an account login', async () => {
    const { code, stdout } = await cli(['login', 'modelslab', '--api-key'], `${SANDBOX_MODELSLAB_KEY}\n`);
    expect(code).toBe(0);
    expect(stdout).toContain('Stored Sb…c7e9 in file');
    expect(await stored()).toEqual({ modelslab_api_key: SANDBOX_MODELSLAB_KEY });
    expect((await cli(['status'])).stdout).toMatch(/^modelslab: configured, token none, API key Sb…c7e9/m);
  });
});

describe('atelier-mcp logout modelslab', () => {
  it('revokes the token upstream and removes token, expiry and key', async () => {
    await cli(['login', 'modelslab'], `${SANDBOX_MODELSLAB_EMAIL}\n${PASSWORD}\n`);
    const issued = emulator.accounts.tokens.at(-1)!;
    const { code, stdout } = await cli(['logout', 'modelslab']);
    expect(code).toBe(0);
    expect(stdout).toContain('Revoked the access token at ModelsLab.');
    expect(issued.revoked).toBe(true);
    expect(await stored()).toEqual({});
    expect((await cli(['status'])).stdout).toMatch(/^modelslab: not configured/m);
  });

  it('with only an API key stored, says it removed the key, not a token', async () => {
    const trains = async () => (await cli(['tools'])).stdout.includes('modelslab_train_lora');
    expect(await trains()).toBe(false);
    await cli(['login', 'modelslab', '--api-key'], `${SANDBOX_MODELSLAB_KEY}\n`);
    // A stored ModelsLab credential turns the train toolset on at the next start, as one in the env does.
    expect(await trains()).toBe(true);
    const { code, stdout } = await cli(['logout', 'modelslab']);
    expect(code).toBe(0);
    expect(stdout).toBe('Removed the stored ModelsLab API key (no token was stored).\n');
    expect(await stored()).toEqual({});
    expect(await trains()).toBe(false);
    expect((await cli(['logout', 'modelslab'])).stdout).toBe('No stored ModelsLab token or key was found.\n');
  });

  it('login modelslab --sandbox exits 2 and reaches no service', async () => {
    const before = emulator.requests.length;
    const { code, stderr } = await cli(
      ['login', 'modelslab', '--sandbox'],
      `${SANDBOX_MODELSLAB_EMAIL}\n${PASSWORD}\n`,
    );
    expect(code).toBe(2);
    expect(stderr).toMatch(/does nothing in the sandbox/);
    expect(emulator.requests.length).toBe(before);
    expect(await stored()).toEqual({});
  });

  it('refuses a base URL that is not an origin before doing anything', async () => {
    const { code, stderr } = await cli(['status'], undefined, { MODELSLAB_BASE_URL: 'localhost:8080' });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /MODELSLAB_BASE_URL=localhost:8080 is not usable: the scheme must be http or https/,
    );
  });
});
