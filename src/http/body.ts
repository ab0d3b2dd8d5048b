import type { Dispatcher } from 'undici';

/** The answer was larger than we read; `declared` when Content-Length said so before any byte was read. */
export class BodyTooLargeError extends Error {
  constructor(
    readonly limit: number,
    readonly seen: number,
    readonly declared: boolean,
  ) {
    super(`the body is larger than ${megabytes(limit)} (${declared ? '' : 'more than '}${megabytes(seen)})`);
    this.name = 'BodyTooLargeError';
  }
}

/** The body kept trickling in past the time allowed for all of it. */
export class BodyTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the body did not finish within ${Math.round(timeoutMs / 100) / 10} s`);
    this.name = 'BodyTimeoutError';
  }
}

export function megabytes(n: number): string {
  return `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
}

// Destroying an undici body makes it emit an error; nobody else listens, so swallow it here.
export function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

/**
 * Reads a response body into memory, never more than `maxBytes` of it and never for longer than `timeoutMs`
 * in total (undici's own bodyTimeout is per chunk: one byte a second would pass it forever).
 */
export async function readLimited(
  res: Pick<Dispatcher.ResponseData, 'body' | 'headers'>,
  opts: { maxBytes: number; timeoutMs?: number },
): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > opts.maxBytes) {
    discard(res.body);
    throw new BodyTooLargeError(opts.maxBytes, declared, true);
  }
  let timedOut = false;
  const timer =
    opts.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          discard(res.body);
        }, opts.timeoutMs);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > opts.maxBytes) {
        discard(res.body);
        throw new BodyTooLargeError(opts.maxBytes, total, false);
      }
      chunks.push(buf);
    }
  } catch (err) {
    if (timedOut && opts.timeoutMs !== undefined) throw new BodyTimeoutError(opts.timeoutMs);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  if (timedOut && opts.timeoutMs !== undefined) throw new BodyTimeoutError(opts.timeoutMs);
  return Buffer.concat(chunks, total);
}
