import type { IncomingMessage, ServerResponse } from 'node:http';

/** One request as an emulator sees it; providers add their own fields (the caller's key, say). */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  method: string;
  /** Pathname without a trailing slash. */
  path: string;
  query: URLSearchParams;
  raw: string;
  /** Lower-case names, repeated headers joined with ", ". */
  headers: Record<string, string>;
  tooLarge: boolean;
  /** Set once the request has been counted, so error answers carry the same X-RateLimit-* values. */
  rate: RateInfo | null;
  /** An injected fault that rewrites the JSON body of the normal answer. */
  rewrite?: (body: Record<string, unknown>) => unknown;
  /** An injected fault that replaces the normal answer after the request was handled. */
  answerInstead?: { status: number; body?: unknown; headers?: Record<string, string> };
}

export interface RateInfo {
  limit: number;
  remaining: number;
  /** Unix seconds. */
  reset: number;
  retryAfter: number;
  limited: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON when the body is JSON, the raw text otherwise, undefined when empty. */
  body: unknown;
}

/** An error answer; each emulator renders it in its provider's envelope. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function rateHeaders(ex: Exchange): Record<string, string> {
  const headers: Record<string, string> = { 'X-Request-ID': ex.requestId };
  const { rate } = ex;
  if (rate) {
    headers['X-RateLimit-Limit'] = String(rate.limit);
    headers['X-RateLimit-Remaining'] = String(rate.remaining);
    headers['X-RateLimit-Reset'] = String(rate.reset);
  }
  return headers;
}

export function write(
  ex: Exchange,
  status: number,
  headers: Record<string, string>,
  body?: string | Buffer,
): void {
  // A client that hung up (or a closed emulator) leaves nobody to answer.
  if (ex.res.headersSent || ex.res.destroyed || ex.res.writableEnded) return;
  ex.res.writeHead(status, headers);
  ex.res.end(body);
}

export function json(ex: Exchange, status: number, body: unknown, extra: Record<string, string> = {}): void {
  if (ex.answerInstead) {
    const { status: instead, body: other, headers } = ex.answerInstead;
    const text = typeof other === 'string';
    write(
      ex,
      instead,
      { ...rateHeaders(ex), 'Content-Type': text ? 'text/html' : 'application/json', ...headers },
      other === undefined ? '' : text ? other : JSON.stringify(other),
    );
    return;
  }
  const sent = ex.rewrite ? ex.rewrite(body as Record<string, unknown>) : body;
  write(
    ex,
    status,
    { ...rateHeaders(ex), 'Content-Type': 'application/json', ...extra },
    JSON.stringify(sent),
  );
}

export function html(ex: Exchange, status: number, title: string, content: string): void {
  write(
    ex,
    status,
    { 'X-Request-ID': ex.requestId, 'Content-Type': 'text/html; charset=utf-8' },
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
      `<body style="font-family:sans-serif;max-width:32rem;margin:4rem auto">${content}</body></html>`,
  );
}

/** The body as a JSON object; `bad` builds the provider's error for each way it can fail. */
export function parseJsonObject(ex: Exchange, bad: (message: string) => ApiError): Record<string, unknown> {
  if (ex.raw.trim() === '') throw bad('Request body is required.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(ex.raw);
  } catch {
    throw bad('Request body is not valid JSON.');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw bad('Request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

export function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
