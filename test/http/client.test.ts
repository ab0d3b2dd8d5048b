import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NetworkError, ProviderError, UnexpectedError } from '../../src/errors.js';
import { HttpClient } from '../../src/http/client.js';
import { createLogger } from '../../src/log.js';
import { formatError } from '../../src/error-format.js';
import { parseModelslabError } from '../../src/providers/modelslab/errors.js';
import { parsePixelmuseError } from '../../src/providers/pixelmuse/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string, n: number) => void;
let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function serve(
  handler: Handler,
): Promise<{ url: string; hits: Array<{ headers: IncomingMessage['headers'] }> }> {
  const hits: Array<{ headers: IncomingMessage['headers'] }> = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ headers: req.headers });
      handler(req, res, body, hits.length);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, hits };
}

function client(
  url: string,
  logs: string[] = [],
  extra: Partial<ConstructorParameters<typeof HttpClient>[0]> = {},
) {
  return new HttpClient({
    provider: 'pixelmuse',
    baseUrl: url,
    userAgent: 'test',
    log: createLogger('debug', (l) => logs.push(l)),
    parseError: parsePixelmuseError,
    baseDelayMs: 10,
    maxDelayMs: 50,
    ...extra,
  });
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('HttpClient', () => {
  it('retries GETs on 5xx and returns the eventual answer', async () => {
    const { url, hits } = await serve((_q, res, _b, n) =>
      n < 3 ? json(res, 502, {}) : json(res, 200, { ok: 1 }),
    );
    const res = await client(url).request({ method: 'GET', path: '/x' });
    expect(res.body).toEqual({ ok: 1 });
    expect(hits).toHaveLength(3);
  });

  it('does not retry a POST without an Idempotency-Key (it could charge twice)', async () => {
    const { url, hits } = await serve((_q, res) =>
      json(res, 503, { error: { code: 'service_unavailable', message: 'down' } }),
    );
    await expect(client(url).request({ method: 'POST', path: '/x', json: {} })).rejects.toMatchObject({
      status: 503,
      code: 'service_unavailable',
    });
    expect(hits).toHaveLength(1);
  });

  it('retries a POST with an Idempotency-Key, sending the same key every time', async () => {
    const { url, hits } = await serve((_q, res, _b, n) =>
      n < 2 ? json(res, 500, {}) : json(res, 201, { id: 'a' }),
    );
    await client(url).request({ method: 'POST', path: '/x', json: { a: 1 }, idempotencyKey: 'k-1' });
    expect(hits.map((h) => h.headers['idempotency-key'])).toEqual(['k-1', 'k-1']);
  });

  it('waits as long as Retry-After says before retrying a 429', async () => {
    const { url } = await serve((_q, res, _b, n) =>
      n === 1 ? json(res, 429, {}, { 'retry-after': '1' }) : json(res, 200, {}),
    );
    const started = Date.now();
    await client(url).request({ method: 'GET', path: '/x' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('honours X-RateLimit-Reset as epoch seconds when there is no Retry-After', async () => {
    const { url } = await serve((_q, res, _b, n) =>
      n === 1
        ? json(
            res,
            429,
            {},
            { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 1) },
          )
        : json(res, 200, {}),
    );
    const started = Date.now();
    await client(url).request({ method: 'GET', path: '/x' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
  });

  it("takes ModelsLab's documented 429 body `retry_after` when no header says how long", async () => {
    const modelslab = { provider: 'modelslab' as const, parseError: parseModelslabError };
    let shortHits = 0;
    const { url, hits } = await serve((req, res) => {
      if (req.url === '/short' && ++shortHits > 1) return json(res, 200, {});
      json(res, 429, {
        status: 'error',
        message: 'Rate limit exceeded. Maximum 5 queued requests allowed.',
        retry_after: req.url === '/short' ? 1 : 120,
      });
    });
    const started = Date.now();
    await client(url, [], modelslab).request({ method: 'GET', path: '/short' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);

    const error = await client(url, [], modelslab)
      .request({ method: 'GET', path: '/long' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 429, retryAfterSeconds: 120 });
    expect(hits).toHaveLength(3);
    expect(formatError(error)).toContain('Retry after 120 s');
  });

  it('does not sit out a long Retry-After: it reports when to retry', async () => {
    const { url, hits } = await serve((_q, res) =>
      json(
        res,
        429,
        { error: { code: 'rate_limit_error', message: 'slow down' }, request_id: 'req_9' },
        { 'retry-after': '90' },
      ),
    );
    const error = await client(url)
      .request({ method: 'GET', path: '/x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({
      status: 429,
      code: 'rate_limit_error',
      requestId: 'req_9',
      retryAfterSeconds: 90,
    });
    expect(hits).toHaveLength(1);
  });

  it('takes the request id from X-Request-ID when the body has none', async () => {
    const { url } = await serve((_q, res) =>
      json(res, 400, { message: 'bad' }, { 'x-request-id': 'req_hdr' }),
    );
    await expect(client(url).request({ method: 'GET', path: '/x' })).rejects.toMatchObject({
      requestId: 'req_hdr',
      message: 'bad',
      status: 400,
    });
  });

  it('times out a silent server per attempt and says so', async () => {
    const { url, hits } = await serve(() => {});
    const error = await client(url, [], { maxRetries: 1 })
      .request({ method: 'GET', path: '/x', timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as Error).message).toContain('no answer within 200 ms');
    expect(hits).toHaveLength(2);
  });

  it('reports an unreachable host as a NetworkError after retries', async () => {
    const error = await client('http://127.0.0.1:1', [], { maxRetries: 2 })
      .request({ method: 'GET', path: '/x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).facts).toContain('Tried 3 times with backoff before giving up.');
  });

  it('aborts at once when the caller cancels, without retrying', async () => {
    const { url, hits } = await serve(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by test')), 100);
    await expect(
      client(url).request({ method: 'GET', path: '/x', signal: controller.signal }),
    ).rejects.toThrow('cancelled by test');
    expect(hits).toHaveLength(1);
  });

  it('never logs the Authorization header or a key in a body', async () => {
    const logs: string[] = [];
    const key = 'pm_live_0123456789abcdef0123456789abcdef';
    const { url } = await serve((_q, res, _b, n) =>
      n === 1 ? json(res, 500, { error: `bad key ${key}` }) : json(res, 200, {}),
    );
    await client(url, logs).request({ method: 'GET', path: '/x', authorization: `Bearer ${key}` });
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.join('\n')).not.toContain('0123456789abcdef');
  });

  it('stops reading an answer larger than maxBodyBytes, says so with the status, and does not retry', async () => {
    const { url, hits } = await serve((_q, res) => {
      // Chunked, so only counting the streamed bytes can catch it; the server would send 50 MB.
      res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_big' });
      let sent = 0;
      const pump = () => {
        while (sent < 50 * 1024 * 1024) {
          sent += 64 * 1024;
          if (!res.write(Buffer.alloc(64 * 1024, 0x20))) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      pump();
    });
    const error = await client(url, [], { maxBodyBytes: 1024 * 1024 })
      .request({ method: 'GET', path: '/big' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'response_too_large', status: 200, requestId: 'req_big' });
    expect((error as Error).message).toContain('larger than the 1 MB this server reads');
    expect(hits).toHaveLength(1);
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    const { url } = await serve((_q, res) => {
      res.writeHead(200, { 'content-length': String(2 * 1024 * 1024) });
      res.on('error', () => undefined);
      res.write(Buffer.alloc(1024));
    });
    const error = await client(url, [], { maxBodyBytes: 1024 * 1024 })
      .request({ method: 'GET', path: '/declared' })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'response_too_large', status: 200 });
  });

  it('gives up on a body that trickles in longer than the timeout allows in total', async () => {
    const { url, hits } = await serve((_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('error', () => undefined);
      // One byte every 50 ms: never idle long enough for a per-chunk timeout.
      const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write(' ')), 50);
    });
    const error = await client(url, [], { maxRetries: 1 })
      .request({ method: 'GET', path: '/slow', timeoutMs: 400 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'truncated_response', status: 200 });
    expect((error as Error).message).toContain('the body did not finish within 0.4 s');
    expect(hits).toHaveLength(2);
  });

  it("keeps an error's response headers: a 402 hands its WWW-Authenticate to the caller", async () => {
    const challenge = 'Payment id="a", realm="r", method="stripe", intent="charge", request="e30"';
    const { url } = await serve((_q, res) =>
      json(res, 402, { type: 'x' }, { 'www-authenticate': challenge }),
    );
    const error = await client(url)
      .request({ method: 'POST', path: '/pay', json: {} })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).headers['www-authenticate']).toBe(challenge);
  });

  it('sends a form body, and retries only the statuses the caller names', async () => {
    const bodies: string[] = [];
    const { url, hits } = await serve((req, res, body) => {
      bodies.push(`${req.headers['content-type']} ${body}`);
      json(res, 500, {});
    });
    const error = await client(url)
      .request({
        method: 'POST',
        path: '/f',
        form: { 'a[b]': 'c d' },
        idempotencyKey: 'k',
        retryOn: new Set([429]),
      })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500 });
    expect(hits).toHaveLength(1);
    expect(bodies).toEqual(['application/x-www-form-urlencoded a%5Bb%5D=c+d']);
  });

  it('does not retry a request undici refuses to build (a newline in a header value)', async () => {
    const { url, hits } = await serve((_q, res) => json(res, 200, {}));
    const error = await client(url)
      .request({ method: 'GET', path: '/x', authorization: 'Bearer abc\ndef' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnexpectedError);
    expect((error as Error).message).toMatch(/^The GET \/x request to Pixelmuse could not be sent: /);
    expect((error as Error).message).not.toContain('abc');
    expect(hits).toHaveLength(0);
  });

  it('returns undefined for a 204 with no body', async () => {
    const { url } = await serve((_q, res) => {
      res.writeHead(204);
      res.end();
    });
    const res = await client(url).request({ method: 'DELETE', path: '/x' });
    expect([res.status, res.body]).toEqual([204, undefined]);
  });
});

describe('parsePixelmuseError', () => {
  it.each([
    [
      { error: { code: 'insufficient_credits', message: 'm' }, request_id: 'req_1' },
      { code: 'insufficient_credits', message: 'm', requestId: 'req_1' },
    ],
    [{ error: 'plain text' }, { message: 'plain text' }],
    [
      { message: 'top', code: 'TOP_CODE' },
      { message: 'top', code: 'TOP_CODE' },
    ],
    [
      { type: 'https://paymentauth.org/problems/payment-required', detail: 'pay' },
      { code: 'payment-required', message: 'pay' },
    ],
    ['<html>Bad gateway</html>', { message: '<html>Bad gateway</html>' }],
  ])('reads %j', (body, expected) => {
    expect(parsePixelmuseError(400, body)).toEqual(expected);
  });
});
