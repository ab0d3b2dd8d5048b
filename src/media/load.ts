import type { Dispatcher } from 'undici';
import { NetworkError, PROVIDER_LABEL, ProviderError, type ProviderName } from '../errors.js';
import { BodyTooLargeError, megabytes, readLimited } from '../http/body.js';
import { loadUndici } from '../http/undici.js';
import { isImage, sniff } from './sniff.js';

export interface LoadLimits {
  /** Whole download, headers and body together. */
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
}

export const DEFAULT_LOAD_LIMITS: LoadLimits = {
  timeoutMs: 60_000,
  maxBytes: 50 * 1024 * 1024,
  maxRedirects: 3,
};

const RETRY_HINT =
  'Call again; a finished job can be fetched again with get_generation while the provider keeps its outputs.';

const dispatchers = new Map<number, Dispatcher>();
async function dispatcherFor(maxRedirects: number): Promise<Dispatcher> {
  const { Agent, interceptors } = await loadUndici();
  let dispatcher = dispatchers.get(maxRedirects);
  if (!dispatcher) {
    dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: maxRedirects }));
    dispatchers.set(maxRedirects, dispatcher);
  }
  return dispatcher;
}

// Output URLs are often pre-signed: the query string is a credential, so it never reaches an error message.
function shown(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function undecodable(provider: ProviderName, why: string): ProviderError {
  return new ProviderError({
    provider,
    message: `${PROVIDER_LABEL[provider]} returned an output that could not be decoded: ${why}.`,
    next: 'Try the generation again; if it keeps happening, report it with the model name.',
  });
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Percent-decodes the bytes of `text` in place of a copy; undefined when an escape is broken. */
function percentDecode(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'utf8');
  let out = 0;
  for (let i = 0; i < bytes.length; i++, out++) {
    const byte = bytes[i]!;
    if (byte === 0x25) {
      const value = hexPair(bytes[i + 1], bytes[i + 2]);
      if (value === undefined) return undefined;
      bytes[out] = value;
      i += 2;
    } else bytes[out] = byte;
  }
  return bytes.subarray(0, out);
}

function hexDigit(c: number | undefined): number | undefined {
  if (c === undefined) return undefined;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : undefined;
}

function hexPair(a: number | undefined, b: number | undefined): number | undefined {
  const hi = hexDigit(a);
  const lo = hexDigit(b);
  return hi === undefined || lo === undefined ? undefined : hi * 16 + lo;
}

/** How many bytes a payload decodes to, counted without decoding it. */
function decodedSize(payload: string, base64: boolean): number {
  let escapes = 0;
  for (let i = payload.indexOf('%'); i !== -1; i = payload.indexOf('%', i + 1)) escapes++;
  if (!base64) return Buffer.byteLength(payload, 'utf8') - 2 * escapes;
  let whitespace = 0;
  for (const match of payload.matchAll(/\s+/g)) whitespace += match[0].length;
  const chars = payload.length - 2 * escapes - whitespace;
  const padding = payload.endsWith('==') ? 2 : payload.endsWith('=') ? 1 : 0;
  return Math.floor((chars * 3) / 4) - padding;
}

/** Decodes a data: URI (base64 or percent-encoded); its size is checked before a byte is decoded. */
export function decodeDataUri(ref: string, provider: ProviderName, maxBytes: number): Buffer {
  const comma = ref.indexOf(',');
  if (comma === -1) throw undecodable(provider, 'the data: URI has no comma');
  const meta = ref.slice('data:'.length, comma);
  const payload = ref.slice(comma + 1);
  const base64 = /;base64$/i.test(meta);
  const size = decodedSize(payload, base64);
  if (size > maxBytes) {
    throw new ProviderError({
      provider,
      code: 'output_too_large',
      message: `${PROVIDER_LABEL[provider]} returned an inline output of ${megabytes(size)}; the limit is ${megabytes(maxBytes)}.`,
      next: 'Ask for a smaller size or a compressed format.',
    });
  }
  let bytes: Buffer | undefined;
  if (base64) {
    // Some providers percent-encode the base64 alphabet or wrap lines; both are harmless.
    let b64 = payload.includes('%') ? percentDecode(payload)?.toString('latin1') : payload;
    if (b64 !== undefined && /\s/.test(b64)) b64 = b64.replace(/\s+/g, '');
    if (b64 === undefined || !BASE64.test(b64) || b64.length % 4 === 1) {
      throw undecodable(provider, 'the data: URI is not valid base64');
    }
    bytes = Buffer.from(b64, b64.includes('-') || b64.includes('_') ? 'base64url' : 'base64');
  } else {
    bytes = percentDecode(payload);
    if (!bytes) throw undecodable(provider, 'the data: URI has a broken %-escape');
  }
  if (bytes.length === 0) throw undecodable(provider, 'the data: URI is empty');
  return bytes;
}

async function download(
  url: URL,
  signal: AbortSignal,
  provider: ProviderName,
  limits: LoadLimits,
): Promise<Buffer> {
  const label = PROVIDER_LABEL[provider];
  const deadline = AbortSignal.timeout(limits.timeoutMs);
  const both = AbortSignal.any([signal, deadline]);
  const tooBig = (size: string) =>
    new ProviderError({
      provider,
      message: `${label} output at ${shown(url)} is larger than the ${megabytes(limits.maxBytes)} limit (${size}).`,
      next: 'Ask for a smaller size or a compressed format.',
    });
  try {
    const { request } = await loadUndici();
    const res = await request(url, {
      method: 'GET',
      signal: both,
      dispatcher: await dispatcherFor(limits.maxRedirects),
      headersTimeout: limits.timeoutMs,
      bodyTimeout: limits.timeoutMs,
      headers: { 'user-agent': 'atelier-mcp' },
    });
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump().catch(() => undefined);
      const redirect = res.statusCode >= 300 && res.statusCode < 400;
      throw new ProviderError({
        provider,
        status: res.statusCode,
        message: redirect
          ? `${label} output at ${shown(url)} redirected more than ${limits.maxRedirects} times (HTTP ${res.statusCode}).`
          : `${label} output could not be downloaded from ${shown(url)} (HTTP ${res.statusCode}).`,
        next: RETRY_HINT,
      });
    }
    return await readLimited(res, { maxBytes: limits.maxBytes });
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    if (err instanceof BodyTooLargeError)
      throw tooBig(err.declared ? megabytes(err.seen) : `more than ${megabytes(err.seen)} so far`);
    if (signal.aborted) throw signal.reason ?? err;
    if (deadline.aborted) {
      throw new NetworkError(
        provider,
        `Downloading the ${label} output from ${shown(url)} took longer than ${limits.timeoutMs / 1000} s.`,
        { next: RETRY_HINT, cause: err },
      );
    }
    const why = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new NetworkError(provider, `Could not download the ${label} output from ${shown(url)} (${why}).`, {
      next: `Check the network connection. ${RETRY_HINT}`,
      cause: err,
    });
  }
}

/** What some bytes that are not an image look like, for the error that refuses them. */
function looksLike(bytes: Buffer): string {
  const start = bytes.subarray(0, 64).toString('latin1').trimStart();
  if (/^<(!doctype html|html|head|body)\b/i.test(start)) return 'an HTML page';
  if (/^<(\?xml|svg)\b/i.test(start)) return 'XML or SVG';
  if (/^[[{]/.test(start)) return 'JSON';
  if (/^[\t\n\r\x20-\x7e]*$/.test(start)) return 'text';
  return 'unknown binary data';
}

/**
 * The bytes behind a provider's output reference (a data: URI, or an http(s) URL to download), checked to be
 * an image we save (PNG, JPEG, GIF, WebP, AVIF, HEIC/HEIF): an error page is never saved as a picture.
 */
export async function loadOutput(
  ref: string,
  opts: { signal: AbortSignal; provider: ProviderName; limits?: Partial<LoadLimits> },
): Promise<Buffer> {
  const bytes = await fetchOutput(ref, opts);
  if (!isImage(sniff(bytes))) {
    const where = /^data:/i.test(ref) ? 'an inline output' : `the output at ${shown(new URL(ref))}`;
    throw new ProviderError({
      provider: opts.provider,
      code: 'not_an_image',
      message: `${PROVIDER_LABEL[opts.provider]} returned ${where} that is not an image: ${bytes.length} bytes of ${looksLike(bytes)}.`,
      next: 'Try the generation again; if it keeps happening, report it with the model name.',
    });
  }
  return bytes;
}

/** PDFs (invoices) are far smaller than images may be. */
const MAX_PDF_BYTES = 20 * 1024 * 1024;

/** A PDF behind an http(s) URL (an invoice), bounded like an output and refused unless its bytes are a PDF. */
export async function loadPdf(
  url: string,
  opts: { signal: AbortSignal; provider: ProviderName; limits?: Partial<LoadLimits> },
): Promise<Buffer> {
  const bytes = await fetchOutput(url, { ...opts, limits: { maxBytes: MAX_PDF_BYTES, ...opts.limits } });
  if (sniff(bytes).mimeType !== 'application/pdf') {
    throw new ProviderError({
      provider: opts.provider,
      code: 'not_a_pdf',
      message: `${PROVIDER_LABEL[opts.provider]} linked a document at ${shown(new URL(url))} that is not a PDF: ${bytes.length} bytes of ${looksLike(bytes)}.`,
      next: 'Open the link in a browser instead, or try again later.',
    });
  }
  return bytes;
}

async function fetchOutput(
  ref: string,
  opts: { signal: AbortSignal; provider: ProviderName; limits?: Partial<LoadLimits> },
): Promise<Buffer> {
  opts.signal.throwIfAborted();
  const limits = { ...DEFAULT_LOAD_LIMITS, ...opts.limits };
  if (/^data:/i.test(ref)) return decodeDataUri(ref, opts.provider, limits.maxBytes);
  let url: URL | undefined;
  try {
    url = new URL(ref);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ProviderError({
      provider: opts.provider,
      message: `${PROVIDER_LABEL[opts.provider]} returned an output that is neither a data: URI nor an http(s) URL (${ref.split('?')[0]?.slice(0, 60)}).`,
      next: 'Try the generation again; if it keeps happening, report it with the model name.',
    });
  }
  return download(url, opts.signal, opts.provider, limits);
}
