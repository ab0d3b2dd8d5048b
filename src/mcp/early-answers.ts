import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { discoverResult, isRecord, MODERN_VERSIONS, modernRequest, modernResult } from './modern.js';

/**
 * What the server answers to `initialize`, computed by the build from the SDK server itself (scripts/tool-list.ts):
 * the protocol versions it accepts, first the one it offers when a client asks for another, and the rest of
 * the result (capabilities, serverInfo, instructions), which no request changes.
 */
export interface InitializeAnswer {
  versions: string[];
  result: Record<string, unknown>;
}

type Json = Record<string, unknown>;

/**
 * Answers to the first requests of every session, `initialize` and then `tools/list` (or, in the 2026-07-28 era,
 * `server/discover` and `tools/list` with a protocol version in `_meta`, no `initialize`), made from what the build
 * computed and without loading the MCP SDK (its zod schemas are most of the start-up time). The bin writes them
 * while the SDK loads, then hands the same requests to the SDK server, which takes the client's capabilities from
 * `initialize`; the transport compares the SDK's own answers with the ones sent and drops them
 * (src/mcp/stdio-transport.ts).
 *
 * The SDK answers in request order, one answer per request. An early answer keeps to that: the session's first
 * message must be an `initialize` the SDK would accept with the same answer, then come `notifications/initialized`
 * and `tools/list` requests of the same kind, each with an id of its own. The first message that is anything else
 * (another method, a reused id, a field the SDK would refuse or that this code does not know) ends early answering
 * for the session: it and everything after it wait for the SDK, so no early answer overtakes an answer of the SDK.
 * Being too strict costs a few milliseconds; being too lenient would answer what the SDK refuses. A modern request
 * needs no `initialize` before it: each one stands alone.
 */
export function earlyAnswers(
  initialize: InitializeAnswer,
  tools: (() => Array<Record<string, unknown>>) | undefined,
): (message: unknown) => JSONRPCMessage | undefined {
  let open = true;
  let initialized = false;
  const ids = new Set<string | number>();
  const answer = (message: unknown): JSONRPCMessage | 'understood' | undefined => {
    if (!isRecord(message) || message.jsonrpc !== '2.0' || !onlyKeys(message, MESSAGE_KEYS)) return undefined;
    if (!('id' in message)) {
      // The one notification that may come between the two requests; it needs no answer.
      return initialized &&
        message.method === 'notifications/initialized' &&
        notificationParams(message.params)
        ? 'understood'
        : undefined;
    }
    const { id } = message;
    if (!isId(id) || ids.has(id)) return undefined;
    const modern = modernAnswer(message, initialize, tools);
    if (modern !== 'legacy') return modern && { jsonrpc: '2.0', id, result: modern };
    if (!initialized) {
      const result = answerInitialize(message, initialize);
      if (result) initialized = true;
      return result && { jsonrpc: '2.0', id, result };
    }
    if (!tools || message.method !== 'tools/list' || !listParams(message.params)) return undefined;
    return { jsonrpc: '2.0', id, result: { tools: tools() } };
  };
  return (message) => {
    if (!open) return undefined;
    const result = answer(message);
    if (result === undefined) {
      open = false;
      return undefined;
    }
    if (result === 'understood') return undefined;
    ids.add((result as { id: string | number }).id);
    return result;
  };
}

/**
 * The answer to a modern `server/discover` or `tools/list`; undefined for any other modern request (the SDK answers
 * it), 'legacy' for a request without a protocol version in `_meta`.
 */
function modernAnswer(
  message: Json,
  initialize: InitializeAnswer,
  tools: (() => Array<Record<string, unknown>>) | undefined,
): Json | undefined | 'legacy' {
  const params = isRecord(message.params) ? message.params : undefined;
  const modern = modernRequest(params?._meta);
  if (!modern) return 'legacy';
  // A version not served is refused by the transport, in its turn.
  if (!MODERN_VERSIONS.includes(modern.version) || !isMeta(params?._meta)) return undefined;
  const serverInfo = initialize.result.serverInfo;
  if (message.method === 'server/discover' && onlyKeys(params!, META_ONLY)) {
    return modernResult('server/discover', discoverResult(initialize), serverInfo);
  }
  if (message.method === 'tools/list' && tools && listParams(params)) {
    return modernResult('tools/list', { tools: tools() }, serverInfo);
  }
  return undefined;
}

/** A JSON-RPC request or notification has these members and no other (the SDK's schemas are strict here). */
const MESSAGE_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);

const onlyKeys = (value: Json, keys: ReadonlySet<string>): boolean =>
  Object.keys(value).every((k) => keys.has(k));

/** The SDK's request ids: a string or a safe integer. */
const isId = (id: unknown): id is string | number =>
  typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id));

const optional = (value: unknown, check: (v: unknown) => boolean): boolean =>
  value === undefined || check(value);
const isString = (v: unknown): boolean => typeof v === 'string';
const isBoolean = (v: unknown): boolean => typeof v === 'boolean';

/** `_meta` of a request or notification: an object whose progress token, if any, is a string or an integer. */
function isMeta(meta: unknown): boolean {
  if (!isRecord(meta) || !optional(meta.progressToken, isId)) return false;
  // Related-task metadata belongs to the tasks extension, which the early path does not speak.
  return !('io.modelcontextprotocol/related-task' in meta);
}

function notificationParams(params: unknown): boolean {
  return params === undefined || (isRecord(params) && optional(params._meta, isMeta));
}

/** tools/list with nothing but `_meta`: a cursor (we never hand one out) is left to the SDK. */
function listParams(params: unknown): boolean {
  return (
    params === undefined ||
    (isRecord(params) && onlyKeys(params, META_ONLY) && optional(params._meta, isMeta))
  );
}
const META_ONLY = new Set(['_meta']);

/**
 * The shape of each capability a client may declare, as far as the SDK checks it: a name maps to the shape of
 * its value. 'object' is any object, a nested shape an object whose listed members have those shapes when present.
 * Capabilities not listed here are ignored by the SDK, whatever their value.
 */
type Shape = 'object' | 'boolean' | { [member: string]: Shape } | { each: 'object' };
const CAPABILITIES: Record<string, Shape> = {
  experimental: { each: 'object' },
  sampling: { context: 'object', tools: 'object' },
  elicitation: { form: { applyDefaults: 'boolean' }, url: 'object' },
  roots: { listChanged: 'boolean' },
  tasks: {
    list: 'object',
    cancel: 'object',
    requests: { sampling: { createMessage: 'object' }, elicitation: { create: 'object' } },
  },
  extensions: { each: 'object' },
};

function fits(value: unknown, shape: Shape): boolean {
  if (shape === 'boolean') return isBoolean(value);
  // The SDK takes arrays for some of these; plain objects are enough for the early path, the rest waits.
  if (!isRecord(value)) return false;
  if (shape === 'object') return true;
  if ('each' in shape && shape.each === 'object') return Object.values(value).every(isRecord);
  return Object.entries(shape).every(([member, inner]) => optional(value[member], (v) => fits(v, inner)));
}

/** clientInfo: name and version, and optional strings; icons (a list of shapes of their own) wait for the SDK. */
function isClientInfo(client: unknown): boolean {
  return (
    isRecord(client) &&
    isString(client.name) &&
    isString(client.version) &&
    ['title', 'websiteUrl', 'description'].every((k) => optional(client[k], isString)) &&
    !('icons' in client)
  );
}

function answerInitialize(message: Json, answer: InitializeAnswer): Json | undefined {
  if (message.method !== 'initialize') return undefined;
  const { params } = message;
  if (!isRecord(params) || typeof params.protocolVersion !== 'string' || !optional(params._meta, isMeta)) {
    return undefined;
  }
  const { capabilities } = params;
  if (!isRecord(capabilities)) return undefined;
  if (
    !Object.entries(CAPABILITIES).every(([name, shape]) =>
      optional(capabilities[name], (v) => fits(v, shape)),
    )
  ) {
    return undefined;
  }
  if (!isClientInfo(params.clientInfo)) return undefined;
  const protocolVersion = answer.versions.includes(params.protocolVersion)
    ? params.protocolVersion
    : answer.versions[0];
  return { protocolVersion, ...answer.result };
}
