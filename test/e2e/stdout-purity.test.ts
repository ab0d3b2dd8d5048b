import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_PIXELMUSE_KEY } from '../../src/sandbox/index.js';
import { BIN, cleanEnv, requireBuiltBin } from '../helpers/spawn.js';
import { PUBLIC_TOOL_NAMES } from '../helpers/public-api.js';

interface Message {
  jsonrpc: string;
  id?: number | string;
  method?: string;
  params?: Record<string, unknown> & { progressToken?: unknown };
  result?: Record<string, unknown> & { isError?: boolean };
  error?: { code: number; message: string };
}

// The server's progress heartbeat period (src/progress.ts): a progress that escaped stop() would show by then.
const HEARTBEAT_MS = 5_000;
const TOKEN = 'purity-token-1';

let outputDir: string;
let stdout = '';
let stderr = '';
let exitCode: number | null = null;
let callSentAt = 0;
let stdinEndedAt = 0;
/** Arrival time of each complete stdout line, in order. */
const arrivals: Array<{ line: string; at: number }> = [];

const request = (id: number, method: string, params: Record<string, unknown> = {}) =>
  `${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`;

beforeAll(async () => {
  requireBuiltBin();
  outputDir = await mkdtemp(join(tmpdir(), 'atelier-purity-'));
  const child = spawn(process.execPath, [BIN, '--sandbox', '--output-dir', outputDir], {
    env: cleanEnv({ ATELIER_LOG_LEVEL: 'debug' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) =>
    child.on('close', (code) => {
      exitCode = code;
      resolve();
    }),
  );
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));

  const pending = new Map<number, () => void>();
  const answered = (id: number) => new Promise<void>((resolve) => pending.set(id, resolve));
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      arrivals.push({ line, at: Date.now() });
      try {
        const id = (JSON.parse(line) as Message).id;
        if (typeof id === 'number' && pending.has(id)) pending.get(id)!();
      } catch {
        // Judged by the tests below, not here.
      }
    }
  });

  const ready = answered(1);
  child.stdin.write(
    request(1, 'initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'purity', version: '1.0.0' },
    }),
  );
  await ready;
  child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);

  const rest = [2, 3, 4, 5, 6].map(answered);
  child.stdin.write(request(2, 'tools/list'));
  callSentAt = Date.now();
  child.stdin.write(
    request(3, 'tools/call', {
      name: 'generate_image',
      arguments: { prompt: 'a glass teapot', model: 'flux-schnell' },
      _meta: { progressToken: TOKEN },
    }),
  );
  // A provider refusal: logged, mapped to an isError result.
  child.stdin.write(
    request(4, 'tools/call', {
      name: 'generate_image',
      arguments: { prompt: 'something forbidden', model: 'imagen-3' },
    }),
  );
  child.stdin.write(request(5, 'prompts/list'));
  // Not a method we serve: a JSON-RPC error, still a clean frame.
  child.stdin.write(request(6, 'no/such/method'));
  await Promise.all(rest);
  // Stay connected past the heartbeat that would follow the first progress, so a progress sent after the
  // response would be seen. Measured from that progress's arrival, not from a send time: under load the first
  // progress can come late.
  const firstProgressAt = arrivals.find((a) => a.line.includes('"notifications/progress"'))?.at ?? callSentAt;
  await new Promise((r) => setTimeout(r, Math.max(0, firstProgressAt + HEARTBEAT_MS + 700 - Date.now())));
  stdinEndedAt = Date.now();
  child.stdin.end();
  await exited;
}, 30_000);

afterAll(async () => {
  if (outputDir) await rm(outputDir, { recursive: true, force: true });
});

const messages = () =>
  stdout
    .split('\n')
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Message);

describe('stdout carries only JSON-RPC (--sandbox, debug logging)', () => {
  it('writes whole newline-terminated lines, each a JSON-RPC 2.0 message, and exits cleanly on stdin end', () => {
    expect(exitCode).toBe(0);
    expect(stdout.endsWith('\n')).toBe(true);
    const lines = stdout.split('\n').slice(0, -1);
    expect(lines.length).toBeGreaterThanOrEqual(6);
    for (const line of lines) {
      let parsed: Message | undefined;
      expect(() => (parsed = JSON.parse(line) as Message), `not JSON: ${line.slice(0, 200)}`).not.toThrow();
      expect(parsed?.jsonrpc, line.slice(0, 200)).toBe('2.0');
      const isResponse =
        parsed!.id !== undefined && (parsed!.result !== undefined || parsed!.error !== undefined);
      const isNotification = parsed!.id === undefined && typeof parsed!.method === 'string';
      expect(isResponse || isNotification, line.slice(0, 200)).toBe(true);
    }
  });

  it('answers every request exactly once, with the results expected', () => {
    const responses = messages().filter((m) => m.id !== undefined);
    expect(responses.map((m) => m.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const byId = new Map(responses.map((m) => [m.id, m]));
    expect((byId.get(2)?.result?.tools as unknown[]).length).toBe(PUBLIC_TOOL_NAMES.length);
    expect(byId.get(3)?.result?.isError).toBeFalsy();
    expect(JSON.stringify(byId.get(3)?.result)).toContain('Saved 1 image');
    expect(byId.get(4)?.result?.isError).toBe(true);
    expect(JSON.stringify(byId.get(4)?.result)).toContain('content_policy_violation');
    expect(byId.get(5)?.result?.prompts).toBeDefined();
    expect(byId.get(6)?.error?.code).toBe(-32601);
  });

  it('sends progress only on the token the client gave, and none after the response', () => {
    const progress = messages().filter((m) => m.method === 'notifications/progress');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    for (const p of progress) expect(p.params?.progressToken).toBe(TOKEN);
    const values = progress.map((p) => p.params?.progress as number);
    expect([...values].sort((a, b) => a - b)).toEqual(values);

    const isProgress = (a: { line: string }) =>
      (JSON.parse(a.line) as Message).method === 'notifications/progress';
    const response = arrivals.findIndex((a) => (JSON.parse(a.line) as Message).id === 3);
    expect(arrivals.findLastIndex(isProgress)).toBeLessThan(response);
    // The session outlived the heartbeat that would have followed the first progress, so the check covers it.
    expect(stdinEndedAt - arrivals.find(isProgress)!.at).toBeGreaterThan(HEARTBEAT_MS + 200);
  });

  it('logs to stderr (never the key), so the silence on stdout is not for lack of output', () => {
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines.some((l) => l.startsWith('[atelier-mcp] debug:'))).toBe(true);
    expect(lines.some((l) => l.startsWith('[atelier-mcp] info:'))).toBe(true);
    expect(stderr).not.toContain(SANDBOX_PIXELMUSE_KEY.slice('pm_test_'.length));
  });
});
