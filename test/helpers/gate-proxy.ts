import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Which request a gate stops: its method, pathname and headers as the server sent them. */
export type GateMatch = (req: { method: string; path: string; headers: IncomingHttpHeaders }) => boolean;

export interface Gate {
  /** The matching request reached the proxy (and, with `hold: 'request'`, stays there). */
  readonly arrived: Promise<void>;
  /** The upstream answered it (nothing of it has reached the server yet). */
  readonly answered: Promise<{ status: number; body: string }>;
  /**
   * Pass the held request on (`hold: 'request'`) or the held answer back (`hold: 'answer'`). Resolves once the
   * whole answer is written to the server's socket (for `hold: 'request'`, once the upstream answered too).
   */
  release(): Promise<void>;
}

export interface GateProxy {
  url: string;
  /**
   * Stop the next request `match` accepts: `'request'` keeps it from the upstream (nothing happened there),
   * `'answer'` lets the upstream carry it out and keeps its answer from the server (what it did is unknown
   * to the server). Requests that do not match pass straight through.
   */
  arm(match: GateMatch, hold: 'request' | 'answer'): Gate;
  /** Drop any gate still armed. */
  disarm(): void;
  close(): Promise<void>;
}

interface Armed {
  match: GateMatch;
  hold: 'request' | 'answer';
  arrive(): void;
  answer(a: { status: number; body: string }): void;
  /** Set once the request is at the gate: passes it on (or its answer back). */
  go?: () => Promise<void>;
  wantGo?: () => void;
}

/**
 * A loopback proxy in the test process between a spawned server and an emulator, that can stop one request
 * before or after the upstream handled it and let it go at a chosen moment: the way to kill a server at an
 * exact point of a payment. A server killed meanwhile just closes its socket; the upstream is unaffected.
 */
export async function startGateProxy(target: string): Promise<GateProxy> {
  let armed: Armed | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const method = req.method ?? 'GET';
      const gate = armed?.match({ method, path, headers: req.headers }) ? armed : undefined;
      if (gate) armed = undefined;
      const forward = () =>
        new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
          const upstream = request(
            new URL(req.url ?? '/', target),
            { method, headers: { ...req.headers, host: new URL(target).host } },
            (answer) => {
              const body: Buffer[] = [];
              answer.on('data', (c: Buffer) => body.push(c));
              answer.on('end', () =>
                resolve({
                  status: answer.statusCode ?? 502,
                  headers: answer.headers,
                  body: Buffer.concat(body),
                }),
              );
              answer.on('error', reject);
            },
          );
          upstream.on('error', reject);
          upstream.end(Buffer.concat(chunks));
        });
      const reply = (a: { status: number; headers: IncomingHttpHeaders; body: Buffer }) =>
        new Promise<void>((resolve) => {
          if (res.destroyed) return resolve();
          const headers = { ...a.headers, 'content-length': String(a.body.length) };
          delete headers['transfer-encoding'];
          res.writeHead(a.status, headers);
          res.end(a.body, () => resolve());
          res.on('close', () => resolve());
        });
      const fail = () => res.socket?.destroy();
      if (!gate) {
        forward().then(reply, fail);
        return;
      }
      gate.arrive();
      if (gate.hold === 'request') {
        gate.go = async () => {
          const a = await forward();
          gate.answer({ status: a.status, body: a.body.toString('utf8') });
          await reply(a);
        };
      } else {
        const upstream = forward();
        upstream.then(
          (a) => gate.answer({ status: a.status, body: a.body.toString('utf8') }),
          () => undefined,
        );
        gate.go = async () => reply(await upstream);
        upstream.catch(fail);
      }
      gate.wantGo?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    arm(match, hold) {
      let arrive!: () => void;
      let answer!: (a: { status: number; body: string }) => void;
      const arrived = new Promise<void>((r) => (arrive = r));
      const answered = new Promise<{ status: number; body: string }>((r) => (answer = r));
      const entry: Armed = { match, hold, arrive, answer };
      armed = entry;
      return {
        arrived,
        answered,
        release: () =>
          new Promise<void>((resolve, reject) => {
            const go = () => entry.go!().then(resolve, reject);
            if (entry.go) go();
            else entry.wantGo = go;
          }),
      };
    },
    disarm() {
      armed = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
