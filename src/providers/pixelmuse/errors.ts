import type { ProviderHints } from '../../errors.js';
import type { ParsedError } from '../../http/client.js';

export const MISSING_KEY_NEXT =
  'Run `npx atelier-mcp login pixelmuse` in a terminal (stores the key in the OS keychain), or set PIXELMUSE_API_KEY in ' +
  "the MCP server's env (keys: https://www.pixelmuse.studio/settings/api-keys). To try without a key, start the server with --sandbox.";

/** Pixelmuse's next steps for the errors the shared formatter cannot know how to fix. */
export const PIXELMUSE_HINTS: ProviderHints = {
  unauthorized: `The key was rejected. ${MISSING_KEY_NEXT}`,
  paymentRequired:
    'Call pixelmuse_buy_credits for a checkout link a human can pay, or pick a cheaper model from list_models.',
  notFound: 'Check the id: pixelmuse_list_images lists recent images with their ids.',
};

/**
 * Pixelmuse documents `{error:{code,message}, request_id}`, but its own client also copes with
 * `{error:"text"}`, `{message}` and a top-level `code` (notes/pixelmuse.md §2), so accept them all.
 */
export function parsePixelmuseError(status: number, body: unknown): ParsedError {
  if (typeof body === 'string') return { message: body.trim().slice(0, 500) || `HTTP ${status}` };
  if (!body || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const out: ParsedError = {};
  if (typeof b.request_id === 'string') out.requestId = b.request_id;
  if (typeof b.code === 'string') out.code = b.code;
  if (typeof b.message === 'string') out.message = b.message;
  if (typeof b.error === 'string') out.message = b.error;
  else if (b.error && typeof b.error === 'object') {
    const e = b.error as Record<string, unknown>;
    if (typeof e.code === 'string') out.code = e.code;
    if (typeof e.message === 'string') out.message = e.message;
  }
  // RFC 9457 problem bodies (the MPP endpoint) carry type/title/detail.
  if (!out.message && typeof b.detail === 'string') out.message = b.detail;
  if (!out.code && typeof b.type === 'string') out.code = b.type.split('/').pop();
  return out;
}
