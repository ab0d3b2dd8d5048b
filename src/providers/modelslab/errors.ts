import type { ProviderHints } from '../../errors.js';
import type { ParsedError } from '../../http/client.js';

export const MISSING_TOKEN_NEXT =
  'Call modelslab_login (or modelslab_signup then modelslab_verify_email for a new account), run ' +
  '`npx atelier-mcp login modelslab` in a terminal, or set MODELSLAB_TOKEN in the MCP server env.';

export const MISSING_KEY_NEXT =
  'Call modelslab_login or modelslab_verify_email (they store the default API key), run ' +
  '`npx atelier-mcp login modelslab --api-key` in a terminal, or set MODELSLAB_API_KEY in the MCP server env.';

/** ModelsLab's next steps for the errors the shared formatter cannot know how to fix. */
export const MODELSLAB_HINTS: ProviderHints = {
  unauthorized: `The token or key was rejected (expired, revoked or mistyped). ${MISSING_TOKEN_NEXT}`,
  paymentRequired:
    'The wallet or card could not cover it: check modelslab_wallet, then fund the wallet or subscribe.',
  notFound: 'Check the id: modelslab_api_keys lists API keys with their ids.',
};

/**
 * The Agents API envelope `{data:null, error:{code,message,details}, meta:{request_id}}`, the generation
 * APIs' `{status:"error", message|messege}`, and Laravel's bare `{message}` (framework errors).
 */
export function parseModelslabError(status: number, body: unknown): ParsedError {
  if (typeof body === 'string') return { message: body.trim().slice(0, 500) || `HTTP ${status}` };
  if (!body || typeof body !== 'object') return {};
  const b = body as Record<string, unknown>;
  const out: ParsedError = {};
  const meta = b.meta as Record<string, unknown> | undefined;
  if (meta && typeof meta.request_id === 'string') out.requestId = meta.request_id;
  if (typeof b.message === 'string') out.message = b.message;
  else if (typeof b.messege === 'string') out.message = b.messege;
  if (typeof b.error === 'string') out.message ??= b.error;
  else if (b.error && typeof b.error === 'object') {
    const e = b.error as Record<string, unknown>;
    if (typeof e.code === 'string') out.code = e.code;
    if (typeof e.message === 'string') out.message = e.message;
    if (e.details && typeof e.details === 'object' && Object.keys(e.details).length > 0) {
      out.details = e.details as Record<string, unknown>;
    }
  }
  // Laravel's validation answer: {message, errors: {field: [messages]}}; the fields are what a caller must fix.
  if (out.details === undefined && b.errors && typeof b.errors === 'object' && !Array.isArray(b.errors)) {
    if (Object.keys(b.errors).length > 0) out.details = b.errors as Record<string, unknown>;
  }
  // error-codes.mdx: a 429 says how long to wait in the body, `"retry_after": 30` (seconds).
  const retryAfter = Number(b.retry_after);
  if (b.retry_after !== undefined && b.retry_after !== null && Number.isFinite(retryAfter) && retryAfter >= 0)
    out.retryAfterSeconds = Math.ceil(retryAfter);
  return out;
}
