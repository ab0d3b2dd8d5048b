import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetworkError, ProviderError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { createMedia } from '../../src/media/index.js';
import { loadOutput } from '../../src/media/load.js';

const media = createMedia({
  config: { outputDir: '/nonexistent-unused', cwd: '/', dataDir: '/' },
  roots: async () => [],
  log: silentLogger,
});
const signal = new AbortController().signal;

/** PNG magic then zeros: sniffs as PNG without being decodable, for size tests. */
const pngLike = (n: number) =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(n - 8)]);

let server: Server;
let origin: string;
let image: Buffer;
let hits: string[];

beforeAll(async () => {
  image = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#123456' } })
    .png()
    .toBuffer();
  hits = [];
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    hits.push(url);
    if (url.startsWith('/image.png')) {
      res.writeHead(200, { 'content-type': 'image/png' }).end(image);
    } else if (url === '/hop1') {
      res.writeHead(302, { location: '/hop2' }).end();
    } else if (url === '/hop2') {
      res.writeHead(301, { location: `${origin}/image.png` }).end();
    } else if (url.startsWith('/loop')) {
      res.writeHead(302, { location: `/loop${hits.length}` }).end();
    } else if (url === '/big-declared') {
      res.writeHead(200, { 'content-length': String(5000) }).end(pngLike(5000));
    } else if (url === '/big-chunked') {
      // No content-length: only counting the streamed body can catch it.
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 10; i++) res.write(i === 0 ? pngLike(1000) : Buffer.alloc(1000));
      res.end();
    } else if (url.startsWith('/error-page.png')) {
      res
        .writeHead(200, { 'content-type': 'image/png' })
        .end('<!doctype html><html><body>Access denied</body></html>');
    } else if (url === '/slow') {
      res.writeHead(200);
      res.write('a');
      // never ends
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('no such output');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('load: data URIs', () => {
  it('decodes base64', async () => {
    const bytes = await media.load(`data:image/png;base64,${image.toString('base64')}`, {
      signal,
      provider: 'pixelmuse',
    });
    expect(bytes.equals(image)).toBe(true);
  });

  it('decodes percent-encoding', async () => {
    const bytes = await media.load('data:image/png,%89PNG%0D%0a%1A%0Ahi', { signal, provider: 'modelslab' });
    expect([...bytes]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x68, 0x69]);
  });

  it.each([
    'data:image/png;base64,@@@not-base64',
    'data:image/png;base64,',
    'data:image/png;base64',
    'data:,%zz',
  ])('turns %j into a ProviderError for that provider', async (ref) => {
    const err = await failure(media.load(ref, { signal, provider: 'modelslab' }));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).provider).toBe('modelslab');
    expect((err as ProviderError).message).toContain('could not be decoded');
  });

  it('applies the output size limit before decoding: an oversize payload is refused unread', async () => {
    // Not even valid base64: only a size check that comes first can report it as too large.
    const ref = `data:image/png;base64,${'@'.repeat(4000)}`;
    const err = await failure(loadOutput(ref, { signal, provider: 'pixelmuse', limits: { maxBytes: 1000 } }));
    expect(err).toMatchObject({ code: 'output_too_large', provider: 'pixelmuse' });
    expect((err as Error).message).toMatch(/inline output of [\d.]+ MB; the limit is [\d.]+ MB/);
  });

  it('counts percent-escapes and line breaks when it measures, so a payload at the limit passes', async () => {
    const wrapped = image.toString('base64').replace(/.{76}/g, '$&\r\n').replace(/\+/g, '%2B');
    const bytes = await loadOutput(`data:image/png;base64,${wrapped}`, {
      signal,
      provider: 'pixelmuse',
      limits: { maxBytes: image.length },
    });
    expect(bytes.equals(image)).toBe(true);
    const raw = await loadOutput(`data:image/png,%89PNG\r\n%1A%0A`, {
      signal,
      provider: 'pixelmuse',
      limits: { maxBytes: 8 },
    });
    expect([...raw]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it.each([
    ['an HTML page', 'data:text/html,%3C!doctype%20html%3E%3Chtml%3Enope%3C/html%3E'],
    ['JSON', `data:application/json;base64,${Buffer.from('{"error":"quota"}').toString('base64')}`],
    ['text', 'data:image/png,just%20text'],
  ])('refuses an inline output that is %s with a typed error', async (what, ref) => {
    const err = await failure(media.load(ref, { signal, provider: 'pixelmuse' }));
    expect(err).toMatchObject({ code: 'not_an_image', provider: 'pixelmuse' });
    expect((err as Error).message).toContain(`that is not an image: `);
    expect((err as Error).message).toContain(what);
  });

  it('rejects other schemes', async () => {
    const err = await failure(media.load('ftp://example.com/x.png', { signal, provider: 'pixelmuse' }));
    expect(err).toBeInstanceOf(ProviderError);
  });
});

describe('load: http', () => {
  it('downloads a 200', async () => {
    const bytes = await media.load(`${origin}/image.png?sig=abc`, { signal, provider: 'pixelmuse' });
    expect(bytes.equals(image)).toBe(true);
  });

  it('refuses an error page served as image/png, naming the URL without its query', async () => {
    const err = await failure(
      media.load(`${origin}/error-page.png?sig=s3cr3t`, { signal, provider: 'pixelmuse' }),
    );
    expect(err).toMatchObject({ code: 'not_an_image' });
    expect((err as Error).message).toContain(`the output at ${origin}/error-page.png that is not an image`);
    expect((err as Error).message).toContain('an HTML page');
    expect((err as Error).message).not.toContain('s3cr3t');
  });

  it('follows redirects', async () => {
    const bytes = await media.load(`${origin}/hop1`, { signal, provider: 'pixelmuse' });
    expect(bytes.equals(image)).toBe(true);
  });

  it('gives up after 3 redirects', async () => {
    const before = hits.length;
    const err = await failure(media.load(`${origin}/loop`, { signal, provider: 'pixelmuse' }));
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toContain('redirected more than 3 times');
    expect(hits.length - before).toBe(4);
  });

  it('turns a 404 into a ProviderError with the status, and keeps the query string out of the message', async () => {
    const err = await failure(
      media.load(`${origin}/gone.png?token=secret123`, { signal, provider: 'modelslab' }),
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).status).toBe(404);
    expect((err as ProviderError).provider).toBe('modelslab');
    expect((err as ProviderError).message).toContain('HTTP 404');
    expect((err as ProviderError).message).not.toContain('secret123');
  });

  it('turns a refused connection into a NetworkError', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await failure(
      media.load(`http://127.0.0.1:${port}/x.png`, { signal, provider: 'pixelmuse' }),
    );
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).message).toContain('ECONNREFUSED');
  });

  it.each(['/big-declared', '/big-chunked'])('stops at the size cap (%s)', async (path) => {
    const err = await failure(
      loadOutput(`${origin}${path}`, { signal, provider: 'pixelmuse', limits: { maxBytes: 2048 } }),
    );
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).message).toContain('larger than');
    // The same body under a cap it fits in downloads whole.
    const bytes = await loadOutput(`${origin}${path}`, {
      signal,
      provider: 'pixelmuse',
      limits: { maxBytes: 20_000 },
    });
    expect(bytes.length).toBeGreaterThanOrEqual(5000);
  });

  it('times out a body that never ends with a NetworkError', async () => {
    const err = await failure(
      loadOutput(`${origin}/slow`, { signal, provider: 'pixelmuse', limits: { timeoutMs: 300 } }),
    );
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as NetworkError).message).toContain('took longer than 0.3 s');
  });

  it('passes the caller’s abort through as an abort, not a network error', async () => {
    const controller = new AbortController();
    const pending = failure(
      media.load(`${origin}/slow`, { signal: controller.signal, provider: 'pixelmuse' }),
    );
    setTimeout(() => controller.abort(new Error('cancelled by client')), 100);
    const err = await pending;
    expect(err).not.toBeInstanceOf(NetworkError);
    expect((err as Error).message).toBe('cancelled by client');
  });
});
