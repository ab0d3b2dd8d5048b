import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LossyProxy {
  url: string;
  /** How many more matching answers to lose: the upstream handles the request, the client never hears back. */
  lose: number;
  close(): Promise<void>;
}

/**
 * A loopback proxy that forwards every request to `target` and, while `lose` > 0, drops the connection
 * instead of passing on the answer of a matching request: the outcome is unknown to the client although
 * the upstream did the work (and charged for it).
 */
export async function startLossyProxy(
  target: string,
  matches: (method: string, path: string) => boolean,
): Promise<LossyProxy> {
  const proxy: LossyProxy = { url: '', lose: 0, close: async () => {} };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const upstream = request(
        new URL(req.url ?? '/', target),
        { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
        (answer) => {
          if (proxy.lose > 0 && matches(req.method ?? 'GET', (req.url ?? '/').split('?')[0]!)) {
            proxy.lose -= 1;
            answer.resume();
            res.socket?.destroy();
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.socket?.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return proxy;
}
