import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { NetworkError, PROVIDER_LABEL, ProviderError, type ProviderName } from '../errors.js';

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
function dispatcherFor(maxRedirects: number): Dispatcher {
  let dispatcher = dispatchers.get(maxRedirects);
  if (!dispatcher) {
    dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: maxRedirects }));
    dispatchers.set(maxRedirects, dispatcher);
  }
  return dispatcher;
}

// Destroying an undici body makes it emit an AbortError; nobody else listens, so swallow it here.
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => undefined);
  body.destroy();
}

function megabytes(n: number): string {
  return `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
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

function percentDecode(text: string): Buffer | undefined {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x25) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return undefined;
      out.push(parseInt(hex, 16));
      i += 2;
    } else if (ch < 0x80) {
      out.push(ch);
    } else {
      out.push(...Buffer.from(text[i] ?? '', 'utf8'));
    }
  }
  return Buffer.from(out);
}

/** Decodes a data: URI (base64 or percent-encoded). */
export function decodeDataUri(ref: string, provider: ProviderName): Buffer {
  const comma = ref.indexOf(',');
  if (comma === -1) throw undecodable(provider, 'the data: URI has no comma');
  const meta = ref.slice('data:'.length, comma);
  const payload = ref.slice(comma + 1);
  let bytes: Buffer | undefined;
  if (/;base64$/i.test(meta)) {
    // Some providers percent-encode the base64 alphabet or wrap lines; both are harmless.
    const b64 = (percentDecode(payload)?.toString('latin1') ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b64) || b64.length % 4 === 1) {
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
    const res = await request(url, {
      method: 'GET',
      signal: both,
      dispatcher: dispatcherFor(limits.maxRedirects),
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
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > limits.maxBytes) {
      discard(res.body);
      throw tooBig(megabytes(declared));
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      total += buf.length;
      if (total > limits.maxBytes) {
        discard(res.body);
        throw tooBig(`more than ${megabytes(total)} so far`);
      }
      chunks.push(buf);
    }
    return Buffer.concat(chunks, total);
  } catch (err) {
    if (err instanceof ProviderError) throw err;
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

/** The bytes behind a provider's output reference: a data: URI, or an http(s) URL to download. */
export async function loadOutput(
  ref: string,
  opts: { signal: AbortSignal; provider: ProviderName; limits?: Partial<LoadLimits> },
): Promise<Buffer> {
  opts.signal.throwIfAborted();
  const limits = { ...DEFAULT_LOAD_LIMITS, ...opts.limits };
  if (/^data:/i.test(ref)) return decodeDataUri(ref, opts.provider);
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
