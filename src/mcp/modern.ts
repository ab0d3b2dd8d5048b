import type { InitializeAnswer } from './early-answers.js';

// MCP 2026-07-28 ("modern"): no `initialize`; every request carries its protocol version and the client's
// capabilities in `_meta`, and every result says what kind it is (`resultType`). A request with that `_meta` is
// served statelessly; an `initialize` still opens a 2025-era session in the same process. No SDK here: the early
// answers (src/mcp/early-answers.ts) use this before the SDK loads.

/** The revisions spoken without `initialize`. */
export const MODERN_VERSIONS: readonly string[] = ['2026-07-28'];

const VERSION_KEY = 'io.modelcontextprotocol/protocolVersion';
const CAPABILITIES_KEY = 'io.modelcontextprotocol/clientCapabilities';
const SERVER_INFO_KEY = 'io.modelcontextprotocol/serverInfo';
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';

/** -32022: the spec's UnsupportedProtocolVersionError. */
const UNSUPPORTED_PROTOCOL_VERSION = -32022;

type Json = Record<string, unknown>;
export const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What a client declares per request; the parts atelier reads. */
export interface ModernCapabilities {
  elicitation?: { form?: object; url?: object };
  roots?: object;
  extensions?: Record<string, object>;
}

interface ModernRequest {
  version: string;
  capabilities: ModernCapabilities;
}

/** The modern `_meta` of a request, or undefined for a 2025-era request (no protocol version in `_meta`). */
export function modernRequest(meta: unknown): ModernRequest | undefined {
  if (!isRecord(meta) || typeof meta[VERSION_KEY] !== 'string') return undefined;
  const capabilities = meta[CAPABILITIES_KEY];
  return {
    version: meta[VERSION_KEY],
    capabilities: isRecord(capabilities) ? (capabilities as ModernCapabilities) : {},
  };
}

/** The versions `server/discover` lists: the modern ones, then those `initialize` negotiates. */
const supportedVersions = (answer: InitializeAnswer): string[] => [...MODERN_VERSIONS, ...answer.versions];

/**
 * The `server/discover` result, made from what `initialize` answers: the same capabilities, except that resource
 * list changes need a `subscriptions/listen` stream modern clients do not get here, plus the tasks extension.
 */
export function discoverResult(answer: InitializeAnswer): Json {
  const { capabilities, serverInfo, instructions } = answer.result as {
    capabilities: Json;
    serverInfo: Json;
    instructions?: string;
  };
  const { resources: _, ...rest } = capabilities;
  return {
    resultType: 'complete',
    supportedVersions: supportedVersions(answer),
    capabilities: {
      ...rest,
      ...('resources' in capabilities ? { resources: {} } : {}),
      extensions: { [TASKS_EXTENSION]: {} },
    },
    ...(instructions === undefined ? {} : { instructions }),
    ttlMs: HOUR_MS,
    cacheScope: 'public',
    _meta: { [SERVER_INFO_KEY]: serverInfo },
  };
}

const HOUR_MS = 60 * 60 * 1000;

/**
 * How long a client may keep a list: the tools are fixed for the life of the process; prompts (the user's folder)
 * and saved generations change without notice, so those are re-read every time.
 */
const CACHE: Record<string, { ttlMs: number; cacheScope: 'public' | 'private' }> = {
  'tools/list': { ttlMs: HOUR_MS, cacheScope: 'private' },
  'prompts/list': { ttlMs: 0, cacheScope: 'private' },
  'resources/list': { ttlMs: 0, cacheScope: 'private' },
  'resources/templates/list': { ttlMs: HOUR_MS, cacheScope: 'private' },
  'resources/read': { ttlMs: 0, cacheScope: 'private' },
};

/**
 * A result as a modern client must get it: `resultType` (complete unless the handler said otherwise), the cache
 * hints a list needs, and serverInfo. The v1 SDK fills `content: []` into any tools/call result; an
 * `input_required` or `task` result has no content, so that default goes.
 */
export function modernResult(method: string, result: Json, serverInfo: unknown): Json {
  const resultType = typeof result.resultType === 'string' ? result.resultType : 'complete';
  const { content, _meta, ...rest } = result;
  const keepContent = resultType === 'complete' || !(Array.isArray(content) && content.length === 0);
  const cache = resultType === 'complete' ? CACHE[method] : undefined;
  return {
    ...(keepContent && content !== undefined ? { content } : {}),
    ...rest,
    resultType,
    ...(cache && !('ttlMs' in result) ? cache : {}),
    _meta: { ...(isRecord(_meta) ? _meta : {}), [SERVER_INFO_KEY]: serverInfo },
  };
}

/** The error for a request whose `_meta` names a version not served here. */
export function unsupportedVersion(
  id: string | number,
  requested: string,
  answer: InitializeAnswer,
): { jsonrpc: '2.0'; id: string | number; error: Json } {
  return {
    jsonrpc: '2.0',
    id,
    error: {
      code: UNSUPPORTED_PROTOCOL_VERSION,
      message: `Unsupported protocol version ${requested}; atelier-mcp serves ${supportedVersions(answer).join(', ')}`,
      data: { supported: supportedVersions(answer), requested },
    },
  };
}
