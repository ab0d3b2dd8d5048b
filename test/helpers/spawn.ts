import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ListRootsRequestSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'dist', 'cli.js');

/** Fails loudly (never skips) when the bundle is missing: `npm test` builds it first in `pretest`. */
export function requireBuiltBin(): void {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run \`npm run build\` (npm test does it in pretest).`);
}

/**
 * The whole environment of a spawned bin. Nothing leaks in from the developer's shell (a real
 * PIXELMUSE_API_KEY, ATELIER_* settings): only PATH and HOME, plus what the test sets.
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...extra };
}

export interface BinSession {
  client: Client;
  transport: StdioClientTransport;
  /** Every stderr line the server wrote so far. */
  stderr: string[];
  /** Every JSON-RPC message sent and received over stdio, in order. */
  messages: unknown[];
  close(): Promise<void>;
}

export interface ConnectOptions {
  command?: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Request timeout for initialize (npx may install first). */
  timeoutMs?: number;
  /** Client roots (file:// URIs): the client then declares the roots capability and answers roots/list. */
  roots?: string[];
  /** More client capabilities (e.g. elicitation); their request handlers are set in `setup`. */
  capabilities?: ClientCapabilities;
  setup?: (client: Client) => void;
}

/** Spawns an MCP server over stdio with the SDK client, as Claude Code or Cursor would. */
export async function connectBin(options: ConnectOptions): Promise<BinSession> {
  const transport = new StdioClientTransport({
    command: options.command ?? process.execPath,
    args: options.args,
    env: options.env ?? cleanEnv(),
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stderr: 'pipe',
  });
  const stderr: string[] = [];
  let partial = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    stderr.push(...lines);
  });
  const client = new Client(
    { name: 'atelier-e2e', version: '1.0.0' },
    { capabilities: { ...(options.roots ? { roots: {} } : {}), ...options.capabilities } },
  );
  if (options.roots) {
    const roots = options.roots.map((uri) => ({ uri }));
    client.setRequestHandler(ListRootsRequestSchema, () => ({ roots }));
  }
  options.setup?.(client);
  const messages: unknown[] = [];
  const send = transport.send.bind(transport);
  transport.send = (message) => {
    messages.push(message);
    return send(message);
  };
  try {
    await client.connect(transport, options.timeoutMs ? { timeout: options.timeoutMs } : undefined);
    // Set by connect(): from here on every message received is recorded (the initialize answer was not).
    const deliver = transport.onmessage!;
    transport.onmessage = (message) => {
      messages.push(message);
      deliver(message);
    };
  } catch (error) {
    await transport.close().catch(() => {});
    const tail = [...stderr, partial].filter(Boolean).slice(-20).join('\n');
    throw new Error(`${(error as Error).message}\nserver stderr:\n${tail}`, { cause: error });
  }
  return {
    client,
    transport,
    stderr,
    messages,
    async close() {
      await client.close();
      if (partial) stderr.push(partial);
      partial = '';
    },
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js <args>` to completion; `input` is written to stdin and then stdin is closed. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: options.env ?? cleanEnv(),
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `atelier-mcp ${args.join(' ')} did not exit in ${options.timeoutMs ?? 15_000} ms\n${stderr}`,
        ),
      );
    }, options.timeoutMs ?? 15_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {
      // The command may exit before reading stdin (e.g. --version); that is not a failure.
    });
    child.stdin.end(options.input ?? '');
  });
}
