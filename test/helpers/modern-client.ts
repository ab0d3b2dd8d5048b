import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { TEST_BIN } from './spend-bins.js';

/**
 * A 2026-07-28 client written by hand over stdio: no `initialize`, every request carries the protocol version,
 * the client's identity and its capabilities in `_meta`. Every line the bin writes is kept, so a test can check
 * that it never sent a request of its own (that era has none on stdio).
 */
export interface ModernClient {
  request(method: string, params?: Record<string, unknown>, capabilities?: object): Promise<Answer>;
  /** tools/call; its result, whatever its resultType. */
  call(name: string, args: Record<string, unknown>, more?: CallMore): Promise<Record<string, unknown>>;
  /** Everything the bin wrote to stdout, parsed. */
  received: Array<Record<string, unknown>>;
  stderr(): string;
  close(): Promise<void>;
}

export interface CallMore {
  capabilities?: object;
  requestState?: string;
  inputResponses?: Record<string, unknown>;
}

export interface Answer {
  id: number;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export const MODERN = '2026-07-28';

export function modernMeta(capabilities: object = {}, version = MODERN): Record<string, unknown> {
  return {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientInfo': { name: 'raw-2026', version: '1.0.0' },
    'io.modelcontextprotocol/clientCapabilities': capabilities,
  };
}

export function startModernClient(env: Record<string, string>, args: string[] = []): ModernClient {
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [TEST_BIN, ...args], {
    env,
    cwd: env.HOME,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const received: Array<Record<string, unknown>> = [];
  const waiting = new Map<number, (a: Answer) => void>();
  let stderr = '';
  let buffer = '';
  let next = 0;
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      const message = JSON.parse(buffer.slice(0, i)) as Record<string, unknown>;
      buffer = buffer.slice(i + 1);
      received.push(message);
      if (typeof message.id === 'number' && !('method' in message))
        waiting.get(message.id)?.(message as never);
    }
  });
  const request = (method: string, params: Record<string, unknown> = {}, capabilities: object = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => reject(new Error(`no answer to ${method}:\n${stderr}`)), 30_000);
      waiting.set(id, (a) => {
        clearTimeout(timer);
        resolve(a);
      });
      const meta = { ...modernMeta(capabilities), ...((params._meta as object | undefined) ?? {}) };
      child.stdin.write(
        `${JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } })}\n`,
      );
    });
  return {
    request,
    async call(name, args, more = {}) {
      const { capabilities, ...rest } = more;
      const answer = await request('tools/call', { name, arguments: args, ...rest }, capabilities);
      if (!answer.result) throw new Error(`tools/call ${name} failed: ${JSON.stringify(answer.error)}`);
      return answer.result;
    },
    received,
    stderr: () => stderr,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
        setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
      }),
  };
}

/** The text of a tool result. */
export const textOf = (result: Record<string, unknown>): string =>
  ((result.content as Array<{ type: string; text?: string }> | undefined) ?? [])
    .map((c) => c.text ?? '')
    .join('\n');
