import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { holdSecret } from '../redact.js';
import { formPage, messagePage, SECURITY_HEADERS, type Field, type PageText } from './page.js';

// One page, one server: 127.0.0.1 on a port the OS picks, a path nobody can guess, one browser (the first to
// open the link gets a cookie that every later request must carry), a CSRF token in the form, and ten minutes.
// A request for another Host (DNS rebinding) or a POST from another origin is refused before anything is read.

/** What the page can tell is wrong without asking a provider (an expiry that is not a date): shown as it is. */
export class PageInputError extends Error {
  override name = 'PageInputError';
}

export type PageOutcome =
  | { status: 'done'; result: string }
  | { status: 'cancelled' }
  | { status: 'expired' }
  /** Closed by the server: the call that opened it was cancelled, or the server is shutting down. */
  | { status: 'closed' };

/** What the page shows once the work is done, and what the model is told. */
export interface Accepted {
  result: string;
  page: string;
}

export interface OneTimePageSpec {
  text: PageText;
  fields: readonly Field[];
  /**
   * Does the work with what the human typed (secret fields already held for redaction). A throw shows
   * `describeError(error)` above the form, and the human may correct it and submit again.
   */
  accept(values: Record<string, string>, signal: AbortSignal): Promise<Accepted>;
  describeError(error: unknown): string;
  log: Logger;
  ttlMs?: number;
}

export interface OneTimePage {
  readonly url: string;
  readonly expiresAt: Date;
  readonly outcome: Promise<PageOutcome>;
  /** The first line of each error the page showed before the outcome. */
  readonly failures: readonly string[];
  /** Ends a page still open (outcome `closed`); a page with an outcome is left as it is. */
  close(): Promise<void>;
}

export const PAGE_TTL_MS = 10 * 60_000;
/** After its outcome a page still answers (410, with what happened) for this long, then its server closes. */
const GONE_GRACE_MS = 2 * 60_000;
const MAX_BODY_BYTES = 16 * 1024;

const same = (a: string | undefined | null, b: string | undefined): boolean => {
  if (typeof a !== 'string' || b === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function cookie(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const ENDED: Record<PageOutcome['status'], [string, string]> = {
  done: [
    'This link has been used',
    'This page has done its job and works only once. You can close this tab.',
  ],
  cancelled: ['Cancelled', 'This page was cancelled; nothing was stored. Ask the assistant for a new link.'],
  expired: ['This link has expired', 'Nothing was stored. Ask the assistant for a new link.'],
  closed: ['This page was closed', 'Nothing was stored. Ask the assistant for a new link.'],
};

export async function openOneTimePage(spec: OneTimePageSpec): Promise<OneTimePage> {
  const { log } = spec;
  const path = `/e/${randomBytes(32).toString('base64url')}`;
  const csrf = randomBytes(32).toString('base64url');
  const cookieName = `atelier_${randomBytes(6).toString('hex')}`;
  const expiresAt = new Date(Date.now() + (spec.ttlMs ?? PAGE_TTL_MS));
  const work = new AbortController();
  const failures: string[] = [];
  /** The cookie of the browser that opened the link first: the only one the page answers. */
  let owner: string | undefined;
  let busy = false;
  let ended: PageOutcome | undefined;
  let settle!: (outcome: PageOutcome) => void;
  const outcome = new Promise<PageOutcome>((resolve) => (settle = resolve));

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log.warn(`secret page: ${error instanceof Error ? error.message : String(error)}`);
      if (!res.headersSent)
        send(res, 500, messagePage('Something went wrong', 'Reload the page to try again.'));
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  server.unref();
  const { port } = server.address() as { port: number };
  const host = `127.0.0.1:${port}`;
  const origin = `http://${host}`;

  let closeTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearTimeout(closeTimer);
    server.close();
    server.closeAllConnections();
  };
  const end = (result: PageOutcome) => {
    if (ended) return;
    ended = result;
    clearTimeout(expiry);
    if (result.status === 'closed' || result.status === 'expired') work.abort();
    log.info(`secret page on port ${port}: ${result.status}`);
    settle(result);
    closeTimer = setTimeout(stop, Math.max(expiresAt.getTime() - Date.now(), 0) + GONE_GRACE_MS);
    closeTimer.unref();
  };
  let expiredWhileBusy = false;
  const expiry = setTimeout(() => {
    if (busy) expiredWhileBusy = true;
    else end({ status: 'expired' });
  }, expiresAt.getTime() - Date.now());
  expiry.unref();

  function send(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}) {
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(Buffer.byteLength(html)),
      ...headers,
    });
    res.end(html);
  }

  const form = (error?: string, values?: Record<string, string>) =>
    formPage(spec.text, spec.fields, { action: path, csrf, expiresAt, error, values });

  /** A form post from this page itself: Fetch Metadata when the browser sends it, else a matching Origin. */
  function sameOrigin(req: IncomingMessage): boolean {
    const site = req.headers['sec-fetch-site'];
    const from = req.headers.origin;
    if (site !== undefined && site !== 'same-origin') return false;
    // With Referrer-Policy no-referrer a browser sends "Origin: null" even for its own form; Fetch Metadata then
    // says same-origin.
    if (from === 'null') return site === 'same-origin';
    return from === undefined || from === origin;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.host !== host) {
      log.warn(
        `secret page on port ${port}: refused a request for Host ${JSON.stringify(req.headers.host ?? '')}`,
      );
      return send(res, 421, messagePage('Wrong address', `This page answers only at ${origin}.`));
    }
    if (new URL(req.url ?? '/', origin).pathname !== path) {
      return send(res, 404, messagePage('Not found', 'There is no page here.'));
    }
    if (ended) {
      const [title, message] = ENDED[ended.status];
      return send(res, 410, messagePage(title, message));
    }
    if (req.method === 'GET') {
      if (owner === undefined) {
        owner = randomBytes(32).toString('base64url');
        log.info(`secret page on port ${port}: opened`);
        return send(res, 200, form(), {
          'set-cookie': `${cookieName}=${owner}; Path=${path}; HttpOnly; SameSite=Strict`,
        });
      }
      if (!same(cookie(req, cookieName), owner)) {
        log.warn(`secret page on port ${port}: refused a second browser`);
        return send(
          res,
          409,
          messagePage(
            'Already opened',
            'This link was already opened in another browser, and it works in one only. Ask the assistant for a new link.',
          ),
        );
      }
      return send(res, 200, form());
    }
    if (req.method !== 'POST') {
      return send(res, 405, messagePage('Not allowed', 'Open the link in a browser.'), {
        allow: 'GET, POST',
      });
    }
    if (!sameOrigin(req)) {
      log.warn(`secret page on port ${port}: refused a POST from another origin`);
      return send(res, 403, messagePage('Refused', 'This form can be sent only from its own page.'));
    }
    if (owner === undefined || !same(cookie(req, cookieName), owner)) {
      log.warn(`secret page on port ${port}: refused a POST without the page's cookie`);
      return send(
        res,
        403,
        messagePage(
          'Refused',
          'This form can be sent only from the browser that opened the link, with cookies allowed for 127.0.0.1.',
        ),
      );
    }
    if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
      return send(res, 415, messagePage('Refused', 'Send the form from its page.'));
    }
    const body = await readBody(req);
    if (body === undefined)
      return send(res, 413, messagePage('Refused', 'That was far more than this form takes.'));
    const posted = new URLSearchParams(body);
    // Every secret field is held before anything else happens to it, a cancelled or refused post included.
    for (const field of spec.fields) {
      if (field.secret) holdSecret(posted.get(field.name), field.card ? 'card' : 'text');
    }
    if (!same(posted.get('csrf'), csrf)) {
      log.warn(`secret page on port ${port}: refused a POST without its CSRF token`);
      return send(
        res,
        403,
        messagePage('Refused', "The form's security token is missing or wrong. Open the link again."),
      );
    }
    if (posted.get('action') === 'cancel') {
      end({ status: 'cancelled' });
      return send(res, 200, messagePage('Cancelled', 'Nothing was stored. You can close this tab.', 'done'));
    }
    if (busy) {
      return send(
        res,
        409,
        messagePage('Still working', 'The previous submission is still running; wait a moment.'),
      );
    }
    const values = Object.fromEntries(spec.fields.map((f) => [f.name, (posted.get(f.name) ?? '').trim()]));
    const shown = Object.fromEntries(
      spec.fields.filter((f) => !f.secret).map((f) => [f.name, values[f.name]!]),
    );
    const missing = spec.fields.find((f) => values[f.name] === '');
    if (missing) return send(res, 422, form(`Fill in ${missing.label.toLowerCase()}.`, shown));
    busy = true;
    try {
      const accepted = await spec.accept(values, work.signal);
      end({ status: 'done', result: accepted.result });
      return send(res, 200, messagePage('Done', accepted.page, 'done'));
    } catch (error) {
      // Closed (or expired) while the work ran: TypeScript cannot see `ended` change across the await.
      const closed = ended as PageOutcome | undefined;
      if (closed) {
        const [title, message] = ENDED[closed.status];
        return send(res, 410, messagePage(title, message));
      }
      const message = spec.describeError(error);
      failures.push(message.split('\n')[0]!);
      return send(res, 422, form(message, shown));
    } finally {
      busy = false;
      if (expiredWhileBusy) end({ status: 'expired' });
    }
  }

  log.info(`secret page on port ${port}: waiting until ${expiresAt.toISOString()}`);
  return {
    url: `${origin}${path}`,
    expiresAt,
    outcome,
    failures,
    async close() {
      // Its server stays up (unreferenced) for the grace period, so a human still on the page reads why it ended.
      end({ status: 'closed' });
    },
  };
}
