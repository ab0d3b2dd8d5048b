import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BIN, connectBin, type BinSession } from './spawn.js';

/**
 * Real server processes for the money e2e tests (crash and two-process): spawned from the built bin on an
 * ATELIER_HOME in a temporary directory, with HOME and the XDG directories there too, so nothing reads or
 * writes the developer's real files. ATELIER_TEST_BIN points the tests at another build (an older commit,
 * to check that they fail there).
 */
export const TEST_BIN = process.env.ATELIER_TEST_BIN || BIN;

export function requireTestBin(): void {
  if (!existsSync(TEST_BIN))
    throw new Error(`${TEST_BIN} is missing: run \`npm run build\` (npm test does it in pretest).`);
}

/** A scratch directory with a HOME, an ATELIER_HOME and an output directory in it. */
export interface Place {
  dir: string;
  home: string;
  spend: string;
  env(extra?: Record<string, string>): Record<string, string>;
  remove(): Promise<void>;
}

export async function newPlace(prefix: string): Promise<Place> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const home = join(dir, 'atelier-home');
  const userHome = join(dir, 'home');
  const out = join(dir, 'out');
  await Promise.all([mkdir(userHome), mkdir(out)]);
  return {
    dir,
    home,
    spend: join(home, 'spend'),
    env: (extra = {}) => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: userHome,
      XDG_CONFIG_HOME: join(userHome, '.config'),
      XDG_DATA_HOME: join(userHome, '.local', 'share'),
      XDG_CACHE_HOME: join(userHome, '.cache'),
      ATELIER_HOME: home,
      ATELIER_OUTPUT_DIR: out,
      ATELIER_CREDENTIAL_STORE: 'file',
      ATELIER_LOG_LEVEL: 'debug',
      ...extra,
    }),
    remove: () => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }),
  };
}

export function startBin(env: Record<string, string>): Promise<BinSession> {
  return connectBin({ args: [TEST_BIN], env, cwd: env.HOME });
}

/** SIGKILL, then wait until the process is gone (reaped), so that its pid reads as dead to the next server. */
export async function killHard(s: BinSession): Promise<void> {
  const pid = s.transport.pid;
  if (pid === null || pid === undefined) return s.close().catch(() => undefined);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  for (let i = 0; i < 500; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await sleep(2);
  }
  await s.close().catch(() => undefined);
}

export const textOf = (r: unknown): string =>
  ((r as CallToolResult).content ?? []).map((c) => (c.type === 'text' ? c.text : '')).join('\n');

export interface Answer {
  text: string;
  isError: boolean;
}

export async function callTool(s: BinSession, name: string, args: Record<string, unknown>): Promise<Answer> {
  const r = (await s.client.callTool({ name, arguments: args }, undefined, {
    timeout: 30_000,
  })) as CallToolResult;
  return { text: textOf(r), isError: r.isError === true };
}

export const tokenOf = (quote: string): string => {
  const token = /confirmation_token: (ct_[A-Za-z0-9_-]+)/.exec(quote)?.[1];
  if (!token) throw new Error(`no confirmation_token in:\n${quote}`);
  return token;
};

/** Calls `onLine` with every stderr line the server writes from now on. */
export function onStderrLine(s: BinSession, onLine: (line: string) => void): () => void {
  let partial = '';
  const listener = (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  };
  s.transport.stderr?.on('data', listener);
  return () => s.transport.stderr?.off('data', listener);
}

/** What a server left on disk: the ledger's lines, the holds (attempt files), and the tokens' records. */
export interface SpendFiles {
  ledger: Array<Record<string, unknown>>;
  holds: Array<Record<string, unknown>>;
  tokens: Array<Record<string, unknown>>;
}

export async function spendFiles(spend: string): Promise<SpendFiles> {
  const jsonFiles = async (dir: string) => {
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: Array<Record<string, unknown>> = [];
    for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.')))
      out.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as Record<string, unknown>);
    return out;
  };
  const ledgerText = await readFile(join(spend, 'ledger.jsonl'), 'utf8').catch(() => '');
  return {
    ledger: ledgerText
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>),
    holds: await jsonFiles(join(spend, 'idempotency')),
    tokens: await jsonFiles(join(spend, 'confirmations')),
  };
}

/** A short name for the durable state a kill left: what the next server starts from. */
export function describeFiles(f: SpendFiles): string {
  const hold = f.holds.find((h) => typeof h.amount_micros === 'number');
  const used = f.tokens.find((t) => t.used_at !== undefined || t.key_sha256 !== undefined);
  return [
    `ledger ${f.ledger.length}`,
    hold ? `hold${hold.memo ? '+credential' : ''}` : 'no hold',
    used ? (used.reference ? 'token ref' : 'token used') : 'token fresh',
  ].join(', ');
}
