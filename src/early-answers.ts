import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * What the server answers to `initialize`, computed by the build from the SDK server itself (scripts/tool-list.ts):
 * the protocol versions it accepts, first the one it offers when a client asks for another, and the rest of
 * the result (capabilities, serverInfo, instructions), which no request changes.
 */
export interface InitializeAnswer {
  versions: string[];
  result: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Answers to the first two requests of every session, `initialize` and `tools/list`, made from what the build
 * computed and without loading the MCP SDK (its zod schemas are most of the start-up time). The bin writes them
 * while the SDK loads, then hands the same requests to the SDK server, which takes the client's capabilities from
 * `initialize`; the transport compares the SDK's own answers with the ones sent and drops them
 * (src/stdio-transport.ts). Only the session's first message may be answered as `initialize`, and `tools/list`
 * only after it; anything that is not plainly a request the SDK would accept is left to the SDK (undefined).
 */
export function earlyAnswers(
  initialize: InitializeAnswer,
  tools: (() => Array<Record<string, unknown>>) | undefined,
): (message: unknown) => JSONRPCMessage | undefined {
  let seen = 0;
  let initialized = false;
  return (message) => {
    seen += 1;
    if (seen === 1) {
      const answer = answerInitialize(message, initialize);
      initialized = answer !== undefined;
      return answer;
    }
    if (!initialized || !tools || !isRecord(message) || message.jsonrpc !== '2.0') return undefined;
    if (message.method !== 'tools/list' || !isId(message.id)) return undefined;
    // A cursor (we never hand one out) or anything odd in params is left to the SDK.
    const { params } = message;
    if (params !== undefined && (!isRecord(params) || Object.keys(params).some((k) => k !== '_meta'))) {
      return undefined;
    }
    return { jsonrpc: '2.0', id: message.id, result: { tools: tools() } };
  };
}

const isId = (id: unknown): id is string | number =>
  typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id));

function answerInitialize(message: unknown, answer: InitializeAnswer): JSONRPCMessage | undefined {
  if (!isRecord(message) || message.jsonrpc !== '2.0' || message.method !== 'initialize') return undefined;
  const { id, params } = message;
  if (!isId(id)) return undefined;
  if (!isRecord(params) || typeof params.protocolVersion !== 'string' || !isRecord(params.capabilities)) {
    return undefined;
  }
  const client = params.clientInfo;
  if (!isRecord(client) || typeof client.name !== 'string' || typeof client.version !== 'string')
    return undefined;
  const protocolVersion = answer.versions.includes(params.protocolVersion)
    ? params.protocolVersion
    : answer.versions[0];
  return { jsonrpc: '2.0', id, result: { protocolVersion, ...answer.result } };
}
