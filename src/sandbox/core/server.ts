import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { write, type Exchange, type RecordedRequest } from './exchange.js';

export interface Fault {
  method?: string;
  /** A string matches every pathname that starts with it; a RegExp is tested against the pathname. */
  path: string | RegExp;
  /** Default 500. */
  status?: number;
  /** An object is sent as JSON, a string as-is; default: the provider's error envelope for the status. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Default 1. */
  times?: number;
  /** Wait before answering (or before dropping the connection). */
  delayMs?: number;
  /** Destroy the socket without answering (the client sees ECONNRESET / "other side closed"). */
  dropConnection?: boolean;
  /** Answer normally, but with rewrite(body) as the JSON body: echoed secrets, odd outputs, odd ids. */
  rewrite?: (body: Record<string, unknown>) => unknown;
  /**
   * Handle the request as usual (a charge is made), then send this answer instead of the real one: an upstream
   * whose answer does not say what it did (an HTML page, `data: null`, a redirect).
   */
  answerInstead?: { status: number; body?: unknown; headers?: Record<string, string> };
  /** Stream `bytes` bytes (head, `fill` repeated, tail) without ever holding them: a huge answer. */
  huge?: { bytes: number; head?: string; fill?: string; tail?: string; contentLength?: boolean };
  /** Send the body `chunkBytes` at a time, `everyMs` apart: a slow answer. */
  trickle?: { everyMs: number; chunkBytes?: number };
  /** Send only the first `truncateAt` bytes of the body, then drop the connection. */
  truncateAt?: number;
}

type ArmedFault = Fault & { remaining: number };

export interface EmulatorServerOptions {
  /** Default 0 (ephemeral). The host is always 127.0.0.1. */
  port?: number;
  /** Answer one request. Runs after the request was logged and no injected fault matched. */
  handle(ex: Exchange): Promise<void>;
  /** This provider's error answer for an injected fault without a body, or a handler that crashed. */
  errorBody(ex: Exchange, status: number, message: string): unknown;
}

/** What every emulator has in common: a loopback server, its request log, armed faults and its timers. */
export interface EmulatorServer {
  /** Origin without a trailing slash, e.g. http://127.0.0.1:40123. */
  url: string;
  readonly requests: RecordedRequest[];
  /** The next `times` matching requests get this fault instead of normal handling. */
  inject(fault: Fault): void;
  /** Sleeps that close() cuts short, so no handler outlives the emulator. */
  sleep(ms: number): Promise<void>;
  /** A timer cleared by close(). */
  later(ms: number, run: () => void): void;
  /** Wake-up callbacks run by close(): a handler holding a response open registers one. */
  readonly sleepers: Set<() => void>;
  readonly timers: Set<NodeJS.Timeout>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 20 * 1024 * 1024;

export const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

export async function startEmulatorServer(opts: EmulatorServerOptions): Promise<EmulatorServer> {
  const requests: RecordedRequest[] = [];
  const faults: ArmedFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sleepers = new Set<() => void>();
  let closed = false;

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        timers.delete(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timers.add(timer);
      sleepers.add(wake);
    });

  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  // ---------- hostile upstream: huge, slow and truncated bodies ----------

  const hostileAnswer = async (ex: Exchange, fault: ArmedFault): Promise<void> => {
    const { res } = ex;
    const huge = fault.huge;
    const payload = Buffer.from(
      typeof fault.body === 'string' ? fault.body : JSON.stringify(fault.body ?? { ok: true }),
    );
    const head = Buffer.from(huge?.head ?? '');
    const tail = Buffer.from(huge?.tail ?? '');
    const total = huge ? Math.max(huge.bytes, head.length + tail.length) : payload.length;
    const headers: Record<string, string> = {
      'X-Request-ID': ex.requestId,
      'Content-Type': 'application/json',
      ...fault.headers,
    };
    if (!huge || huge.contentLength) headers['Content-Length'] = String(total);
    res.writeHead(fault.status ?? 200, headers);
    const fill = Buffer.alloc(64 * 1024, huge?.fill ?? ' ');
    function* pieces(): Generator<Buffer> {
      if (!huge) return yield payload;
      yield head;
      for (let left = total - head.length - tail.length; left > 0; left -= fill.length)
        yield fill.subarray(0, Math.min(fill.length, left));
      yield tail;
    }
    const limit = Math.min(total, fault.truncateAt ?? total);
    const step = fault.trickle ? (fault.trickle.chunkBytes ?? 1) : Infinity;
    let sent = 0;
    outer: for (const piece of pieces()) {
      for (let at = 0; at < piece.length; at += step) {
        if (sent >= limit || res.destroyed || closed) break outer;
        const chunk = piece.subarray(at, Math.min(at + step, piece.length, at + limit - sent));
        sent += chunk.length;
        // Waiting for each write to be flushed: a socket destroyed with writes pending sends none of them.
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('close', done);
            resolve();
          };
          res.once('close', done);
          res.write(chunk, done);
        });
        if (fault.trickle) await sleep(fault.trickle.everyMs);
      }
    }
    if (sent < total) ex.req.socket.destroy();
    else res.end();
  };

  const applyFault = async (ex: Exchange): Promise<boolean> => {
    const index = faults.findIndex((f) => {
      if (f.method && f.method.toUpperCase() !== ex.method) return false;
      if (typeof f.path === 'string') return ex.path.startsWith(f.path);
      f.path.lastIndex = 0;
      return f.path.test(ex.path);
    });
    const fault = faults[index];
    if (!fault) return false;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults.splice(index, 1);

    if (fault.delayMs) await sleep(fault.delayMs);
    if (fault.dropConnection) {
      ex.req.socket.destroy();
      return true;
    }
    if (fault.rewrite || fault.answerInstead) {
      ex.rewrite = fault.rewrite;
      ex.answerInstead = fault.answerInstead;
      return false;
    }
    if (fault.huge || fault.trickle || fault.truncateAt !== undefined) {
      await hostileAnswer(ex, fault);
      return true;
    }
    const status = fault.status ?? 500;
    let payload: string | undefined;
    let type: string | undefined;
    if (typeof fault.body === 'string') {
      payload = fault.body;
      type = 'text/plain; charset=utf-8';
    } else if (fault.body !== undefined) {
      payload = JSON.stringify(fault.body);
      type = 'application/json';
    } else if (status !== 204 && status !== 304) {
      payload = JSON.stringify(opts.errorBody(ex, status, `Injected fault (sandbox): HTTP ${status}.`));
      type = 'application/json';
    }
    const headers: Record<string, string> = { 'X-Request-ID': ex.requestId };
    if (type) headers['Content-Type'] = type;
    write(ex, status, { ...headers, ...fault.headers }, payload);
    return true;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { text: raw, tooLarge } = await readBody(req);
    const parsedUrl = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const path = parsedUrl.pathname.length > 1 ? parsedUrl.pathname.replace(/\/+$/, '') : parsedUrl.pathname;
    const headers = flattenHeaders(req.headers);
    const method = (req.method ?? 'GET').toUpperCase();
    requests.push({
      method,
      path,
      query: Object.fromEntries(parsedUrl.searchParams),
      headers,
      body: recordedBody(raw),
    });
    const ex: Exchange = {
      req,
      res,
      requestId: `req_${hex(8)}`,
      method,
      path,
      query: parsedUrl.searchParams,
      raw,
      headers,
      tooLarge,
      rate: null,
    };
    if (await applyFault(ex)) return;
    await opts.handle(ex);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Nothing may be printed (stdout is JSON-RPC); answer if we still can, else drop the socket.
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'api_error', message: 'Internal sandbox error.' } }));
      } else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    inject(fault: Fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    sleep,
    later,
    sleepers,
    timers,
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const wake of [...sleepers]) wake();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

async function readBody(req: IncomingMessage): Promise<{ text: string; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  try {
    for await (const chunk of req) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(buffer);
    }
  } catch {
    // The client went away mid-body; whatever arrived is all there is.
  }
  return { text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), tooLarge };
}

function recordedBody(raw: string): unknown {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
