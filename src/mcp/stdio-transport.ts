import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { describeIssues } from '../zod-issues.js';
import type { InitializeAnswer } from './early-answers.js';
import { MODERN_VERSIONS, modernRequest, modernResult, unsupportedVersion } from './modern.js';

/**
 * The largest JSON-RPC message read from stdin: a 10 MB reference image inline as a data: URI is about
 * 13.4 MB of base64, so this leaves room for two and the rest of the call.
 */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** Enough of each end of an oversize message to find its id (the SDK puts "id" last, others put it first). */
const EDGE_BYTES = 512;

interface Oversize {
  bytes: number;
  head: Buffer;
  tail: Buffer;
}

/**
 * Newline-delimited JSON-RPC over stdin/stdout, like the SDK's StdioServerTransport but safe with a message
 * over the limit. The SDK's ReadBuffer throws once its buffer passes 10 MiB and its transport then closes
 * itself, which ended the whole server (exit 0, nothing logged) and every call in flight. Here such a
 * message is skipped up to its newline while only its two ends are kept, its request (when its id can be
 * read) gets a JSON-RPC error of its own, and the server goes on.
 *
 * It can also read before the SDK is loaded (listen()): messages wait for start(), and `initialize` and `tools/list`
 * may be answered at once (src/mcp/early-answers.ts). The SDK server still gets those requests; its answers are
 * compared with the ones sent and dropped, and a difference is reported through onerror.
 *
 * Requests of the 2026-07-28 era (a protocol version in `_meta`, src/mcp/modern.ts) are checked here: one for a
 * version not served is answered UnsupportedProtocolVersionError and never reaches the SDK; the others get their
 * results as that era shapes them (`resultType`, cache hints, serverInfo).
 */
export class StdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private chunks: Buffer[] = [];
  private size = 0;
  private oversize: Oversize | undefined;
  private listening = false;
  /** Messages read before start(), as parsed JSON (the SDK's schema checks them on delivery), or why a line was not. */
  private held: unknown[] | undefined = [];
  private firstSeen: (() => void) | undefined;
  private readonly first = new Promise<void>((resolve) => (this.firstSeen = resolve));
  private early: ((message: unknown) => JSONRPCMessage | undefined) | undefined;
  /** Requests answered before start(): id -> the result sent, as JSON. */
  private readonly answered = new Map<string | number, string>();
  private parse: ((value: unknown) => JSONRPCMessage) | undefined;
  /** The server's own answer to `initialize`: what modern results and version errors are made from. */
  private server: InitializeAnswer | undefined;
  /** Modern requests in flight: id -> method. */
  private readonly modern = new Map<string | number, string>();

  constructor(
    private readonly stdin: NodeJS.ReadableStream = process.stdin,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    readonly maxMessageBytes = MAX_MESSAGE_BYTES,
  ) {}

  /**
   * Starts reading stdin; what arrives waits for start(). `early` sees each message read until then and may answer
   * it at once (src/mcp/early-answers.ts). Resolves once a first message arrived or stdin ended.
   */
  listen(early?: (message: unknown) => JSONRPCMessage | undefined): Promise<void> {
    this.early = early;
    if (!this.listening) {
      this.listening = true;
      this.stdin.on('data', this.onData);
      this.stdin.on('error', this.onStreamError);
      this.stdin.once('end', () => this.firstSeen?.());
      // A client that went away makes writes fail with EPIPE: an unhandled 'error' would end the process.
      this.stdout.on('error', this.onStreamError);
    }
    return this.first;
  }

  /** Serves modern requests as this server (its `initialize` answer); set before start(). */
  speakModern(answer: InitializeAnswer): void {
    this.server = answer;
  }

  async start(): Promise<void> {
    // Loaded with the SDK server that calls start(): nothing to wait for then.
    const { JSONRPCMessageSchema } = await import('@modelcontextprotocol/sdk/types.js');
    this.parse = (value) => JSONRPCMessageSchema.parse(value);
    void this.listen();
    const held = this.held ?? [];
    this.held = undefined;
    // In the order read: a line that could not be read is reported where it came, now that onerror is set.
    for (const value of held) {
      if (value instanceof Unreadable) this.onerror?.(value.error);
      else this.deliver(value);
    }
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.onData);
    this.stdin.off('error', this.onStreamError);
    this.stdout.off('error', this.onStreamError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.listening = false;
    this.chunks = [];
    this.size = 0;
    this.oversize = undefined;
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    message = this.shaped(message);
    if (
      'id' in message &&
      message.id !== undefined &&
      ('result' in message || 'error' in message) &&
      this.answered.has(message.id)
    ) {
      const sent = this.answered.get(message.id);
      this.answered.delete(message.id);
      const own = 'result' in message ? JSON.stringify(message.result) : undefined;
      if (own !== sent) {
        // A tools/list answer is tens of kilobytes: the start of each side says enough.
        this.onerror?.(
          new Error(
            `the answer sent early to request ${JSON.stringify(message.id)} differs from the SDK's: ` +
              `${clip(sent ?? '')} against ${clip(own ?? JSON.stringify(message))}`,
          ),
        );
      }
      return Promise.resolve();
    }
    return this.write(message);
  }

  /** A response to a modern request, as that era shapes it. */
  private shaped(message: JSONRPCMessage): JSONRPCMessage {
    if (!('id' in message) || message.id === undefined || 'method' in message) return message;
    const method = this.modern.get(message.id);
    if (method === undefined) return message;
    this.modern.delete(message.id);
    // 2026-07-28 renumbered "resource not found" from -32002 to Invalid Params.
    if ('error' in message && method === 'resources/read' && message.error.code === RESOURCE_NOT_FOUND_2025) {
      return { ...message, error: { ...message.error, code: -32602 } };
    }
    if (!('result' in message) || !this.server) return message;
    const serverInfo = this.server.result.serverInfo;
    return { ...message, result: modernResult(method, message.result, serverInfo) as typeof message.result };
  }

  private write(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }

  private readonly onStreamError = (error: Error): void => {
    this.onerror?.(error);
  };

  private readonly onData = (chunk: Buffer | string): void => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let start = 0;
    for (;;) {
      const newline = data.indexOf(0x0a, start);
      this.take(newline === -1 ? data.subarray(start) : data.subarray(start, newline));
      if (newline === -1) return;
      this.endOfLine();
      start = newline + 1;
    }
  };

  private take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.oversize) {
      this.oversize.bytes += piece.length;
      this.oversize.tail = lastBytes([this.oversize.tail, piece]);
      return;
    }
    if (this.size + piece.length <= this.maxMessageBytes) {
      this.chunks.push(piece);
      this.size += piece.length;
      return;
    }
    const all = [...this.chunks, piece];
    this.oversize = {
      bytes: this.size + piece.length,
      head: Buffer.concat(all).subarray(0, EDGE_BYTES),
      tail: lastBytes(all),
    };
    this.chunks = [];
    this.size = 0;
  }

  private endOfLine(): void {
    const oversize = this.oversize;
    if (oversize) {
      this.oversize = undefined;
      this.refuse(oversize);
      return;
    }
    const line = Buffer.concat(this.chunks, this.size).toString('utf8').replace(/\r$/, '');
    this.chunks = [];
    this.size = 0;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const unreadable = new Error(`ignored a line that is not JSON: ${(error as Error).message}`);
      if (!this.held) return this.onerror?.(unreadable);
      // Before start() nobody listens yet: the line is reported once the SDK is connected, in its place.
      this.held.push(new Unreadable(unreadable));
      this.early = undefined;
      return;
    }
    if (!this.held) return this.deliver(value);
    this.answerEarly(value);
    this.held.push(value);
    this.firstSeen?.();
  }

  private answerEarly(value: unknown): void {
    const answer = this.early?.(value);
    if (!answer || !('id' in answer) || !('result' in answer)) return;
    this.answered.set(answer.id, JSON.stringify(answer.result));
    void this.write(answer);
  }

  private deliver(value: unknown): void {
    let message: JSONRPCMessage;
    try {
      message = this.parse!(value);
    } catch (error) {
      this.onerror?.(invalidMessage(value, error));
      return;
    }
    if ('method' in message && 'id' in message && !this.modernAccepted(message)) return;
    this.onmessage?.(message);
  }

  /** Notes a modern request, or answers one whose version is not served; false when it must not go further. */
  private modernAccepted(request: { id: string | number; method: string; params?: unknown }): boolean {
    const params = request.params as { _meta?: unknown } | undefined;
    const modern = modernRequest(params?._meta);
    if (!modern || request.method === 'initialize') return true;
    if (!MODERN_VERSIONS.includes(modern.version) && this.server) {
      void this.write(unsupportedVersion(request.id, modern.version, this.server) as JSONRPCMessage);
      return false;
    }
    this.modern.set(request.id, request.method);
    return true;
  }

  private refuse(oversize: Oversize): void {
    // Not a message the early path understands: it and what follows wait for the SDK.
    this.early = undefined;
    // A response (to roots/list, say) gets no answer: only a request that named a method does.
    const id = /"method"\s*:/.test(oversize.head.toString('utf8'))
      ? requestId(oversize.head, oversize.tail)
      : undefined;
    const limit = `${Math.round(this.maxMessageBytes / (1024 * 1024))} MB`;
    const size = `${(oversize.bytes / (1024 * 1024)).toFixed(1)} MB`;
    this.onerror?.(
      new Error(
        `dropped a JSON-RPC message of ${size} (the limit is ${limit})${id === undefined ? '' : ` for request ${JSON.stringify(id)}`}`,
      ),
    );
    if (id === undefined) return;
    void this.send({
      jsonrpc: '2.0',
      id,
      error: {
        code: -32600,
        message:
          `Request too large: ${size}; atelier-mcp reads messages of up to ${limit}. ` +
          'Pass input_image as a file path or an http(s) URL instead of inline data.',
      },
    }).catch((error: unknown) => this.onerror?.(error as Error));
  }
}

/** A line read before start() that is not JSON: reported through onerror once there is one. */
class Unreadable {
  constructor(readonly error: Error) {}
}

const RESOURCE_NOT_FOUND_2025 = -32002;

const CLIP = 300;

/** The start of a long text, saying how long it was. */
function clip(text: string): string {
  return text.length <= CLIP ? text : `${text.slice(0, CLIP)}… (${text.length} characters)`;
}

/** A parsed message the SDK's JSON-RPC schema refused: which one, and why, in one line. */
function invalidMessage(value: unknown, error: unknown): Error {
  const issues = (error as { issues?: unknown }).issues;
  const why = Array.isArray(issues) ? describeIssues(issues) : String(error);
  const message = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const method = typeof message.method === 'string' ? ` ${clip(message.method)}` : '';
  const id = 'id' in message ? ` (id ${clip(JSON.stringify(message.id) ?? 'undefined')})` : '';
  return new Error(`ignored a message that is not valid JSON-RPC${method}${id}: ${why}`);
}

function lastBytes(parts: Buffer[]): Buffer {
  const out: Buffer[] = [];
  let size = 0;
  for (let i = parts.length - 1; i >= 0 && size < EDGE_BYTES; i--) {
    const part = parts[i]!;
    const take = part.subarray(Math.max(0, part.length - (EDGE_BYTES - size)));
    out.unshift(take);
    size += take.length;
  }
  return Buffer.concat(out, size);
}

const ID_VALUE = String.raw`(-?\d{1,15}|"(?:[^"\\]|\\.){0,200}")`;
// The top-level "id" before params (members in any order, values short) or as the very last member.
const ID_FIRST = new RegExp(
  String.raw`^\s*\{(?:\s*"(?:jsonrpc|method)"\s*:\s*"[^"]{0,100}"\s*,)*\s*"id"\s*:\s*${ID_VALUE}`,
);
const ID_LAST = new RegExp(String.raw`,\s*"id"\s*:\s*${ID_VALUE}\s*\}\s*$`);

/** The id of a request we could not read whole, if either end shows it. */
function requestId(head: Buffer, tail: Buffer): string | number | undefined {
  const found =
    ID_FIRST.exec(head.toString('utf8'))?.[1] ?? ID_LAST.exec(tail.toString('utf8').replace(/\r$/, ''))?.[1];
  if (found === undefined) return undefined;
  try {
    return JSON.parse(found) as string | number;
  } catch {
    return undefined;
  }
}
