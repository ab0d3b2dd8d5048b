import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildToolList } from '../../scripts/tool-list.js';
import { loadConfig } from '../../src/config.js';
import { earlyAnswers } from '../../src/mcp/early-answers.js';
import { silentLogger } from '../../src/log.js';
import { createServer, setupWith, type ServerSetup } from '../../src/mcp/server.js';
import { createServices } from '../../src/services.js';
import { StdioTransport } from '../../src/mcp/stdio-transport.js';
import { prebuiltToolList } from '../../src/mcp/tool-list.js';
import { selectTools } from '../../src/tool-selection.js';
import { TOOLS } from '../../tools/index.js';

const initialize = {
  versions: ['2025-11-25', '2025-06-18', '2024-11-05'],
  result: { capabilities: { tools: {} }, serverInfo: { name: 'atelier-mcp', version: '9' } },
};
const tools = () => [{ name: 'generate_image' }];
const init = (params: Record<string, unknown>, id: string | number = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'c', version: '1' },
    ...params,
  },
});
const list = (id: number, params?: unknown) => ({ jsonrpc: '2.0', id, method: 'tools/list', params });

describe('earlyAnswers', () => {
  it('answers initialize with the version the client asked for when the SDK speaks it, else the latest', () => {
    expect(earlyAnswers(initialize, tools)(init({}))).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { protocolVersion: '2025-06-18', ...initialize.result },
    });
    expect(earlyAnswers(initialize, tools)(init({ protocolVersion: '1999-01-01' }, 'a'))).toEqual({
      jsonrpc: '2.0',
      id: 'a',
      result: { protocolVersion: '2025-11-25', ...initialize.result },
    });
  });

  it('answers 2026-07-28 server/discover and tools/list without initialize, and leaves other versions to the SDK', () => {
    const _meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' };
    const early = earlyAnswers(initialize, tools);
    expect(early({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta } })).toMatchObject({
      id: 1,
      result: {
        resultType: 'complete',
        supportedVersions: ['2026-07-28', ...initialize.versions],
        _meta: { 'io.modelcontextprotocol/serverInfo': initialize.result.serverInfo },
      },
    });
    expect(early(list(2, { _meta }))).toMatchObject({ result: { tools: tools(), resultType: 'complete' } });
    const other = earlyAnswers(initialize, tools);
    expect(
      other(list(1, { _meta: { 'io.modelcontextprotocol/protocolVersion': '2030-01-01' } })),
    ).toBeUndefined();
    expect(other(list(2, { _meta }))).toBeUndefined();
  });

  it('answers tools/list only after an initialize it answered', () => {
    const early = earlyAnswers(initialize, tools);
    expect(early(init({}))).toBeDefined();
    expect(early({ jsonrpc: '2.0', method: 'notifications/initialized' })).toBeUndefined();
    expect(early(list(2))).toEqual({ jsonrpc: '2.0', id: 2, result: { tools: tools() } });
    expect(early(list(3, { _meta: { progressToken: 1 } }))).toBeDefined();

    const unanswered = earlyAnswers(initialize, tools);
    expect(unanswered(init({ clientInfo: undefined }))).toBeUndefined();
    expect(unanswered(list(2))).toBeUndefined();
  });

  it('leaves to the SDK what it might answer otherwise', () => {
    // Not the first message, a bad id, missing or mistyped params: the SDK decides (and may refuse).
    const early = earlyAnswers(initialize, tools);
    expect(early({ jsonrpc: '2.0', id: 1, method: 'ping' })).toBeUndefined();
    expect(early(init({}))).toBeUndefined();
    for (const message of [
      init({}, 1.5),
      init({ protocolVersion: 20250618 }),
      init({ capabilities: [] }),
      init({ clientInfo: { name: 'c' } }),
      { ...init({}), jsonrpc: '1.0' },
    ]) {
      expect(earlyAnswers(initialize, tools)(message), JSON.stringify(message)).toBeUndefined();
    }
    const answered = earlyAnswers(initialize, tools);
    answered(init({}));
    expect(answered(list(2, { cursor: 'next' }))).toBeUndefined();
    // Without a prebuilt list (a variant the build did not compute), tools/list waits for the SDK.
    const noList = earlyAnswers(initialize, undefined);
    expect(noList(init({}))).toBeDefined();
    expect(noList(list(2))).toBeUndefined();
  });
});

// The same lines, all written before the SDK loads, to the real server twice: once with early answers, once with
// the SDK alone. What the client receives (every answer, in order) and what is logged must be the same.
describe('early answers against the SDK alone', () => {
  let sdkOnly: (lines: string[]) => Promise<Session>;
  let withEarly: (lines: string[]) => Promise<Session>;
  let home: string;

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'atelier-early-'));
    const config = loadConfig({}, { ATELIER_HOME: home, ATELIER_CREDENTIAL_STORE: 'memory' }, home);
    const table = await buildToolList(home);
    const services = createServices(config, silentLogger, { env: {}, memory: {} });
    const list = prebuiltToolList(selectTools(table.tools, config), config, table);
    const session = (early: boolean) => (lines: string[]) =>
      run(
        { ...setupWith(services, TOOLS), table },
        lines,
        early ? earlyAnswers(table.initialize, list) : undefined,
      );
    sdkOnly = session(false);
    withEarly = session(true);
  });
  afterAll(() => rm(home, { recursive: true, force: true }));

  const line = (value: unknown) => JSON.stringify(value);
  const initLine = (params: Record<string, unknown> = {}, id: unknown = 1) =>
    line(init(params, id as number));
  const initialized = (params?: unknown) =>
    line({
      jsonrpc: '2.0',
      method: 'notifications/initialized',
      ...(params === undefined ? {} : { params }),
    });
  const listLine = (id: unknown, params?: unknown) =>
    line({ jsonrpc: '2.0', id, method: 'tools/list', ...(params === undefined ? {} : { params }) });
  const session = (first: string, ...rest: string[]) => [first, initialized(), listLine(2), ...rest];

  it.each<[string, string[]]>([
    ['a plain session', session(initLine())],
    ['initialize twice, then tools/list', [initLine({}, 1), initLine({}, 2), initialized(), listLine(3)]],
    ['the id of initialize reused by tools/list', [initLine({}, 1), initialized(), listLine(1)]],
    ['one id for two tools/list', [initLine(), initialized(), listLine(2), listLine(2)]],
    ['roots declared as true', session(initLine({ capabilities: { roots: true } }))],
    ['roots.listChanged a string', session(initLine({ capabilities: { roots: { listChanged: 'yes' } } }))],
    ['elicitation a string', session(initLine({ capabilities: { elicitation: 'form' } }))],
    [
      'elicitation.form.applyDefaults a number',
      session(initLine({ capabilities: { elicitation: { form: { applyDefaults: 1 } } } })),
    ],
    ['sampling.tools a boolean', session(initLine({ capabilities: { sampling: { tools: true } } }))],
    ['experimental of numbers', session(initLine({ capabilities: { experimental: { a: 1 } } }))],
    [
      'tasks.requests.elicitation.create a string',
      session(initLine({ capabilities: { tasks: { requests: { elicitation: { create: 'x' } } } } })),
    ],
    ['extensions of booleans', session(initLine({ capabilities: { extensions: { 'x/y': true } } }))],
    ['an unknown capability (the SDK ignores it)', session(initLine({ capabilities: { whatever: 5 } }))],
    [
      'every capability declared',
      session(
        initLine({
          capabilities: {
            roots: { listChanged: true },
            elicitation: {},
            sampling: { context: {} },
            experimental: { x: {} },
            tasks: { list: {} },
            extensions: { 'a/b': {} },
          },
        }),
      ),
    ],
    ['capabilities an array', session(initLine({ capabilities: [] }))],
    ['initialize _meta a number', session(initLine({ _meta: 5 }))],
    ['initialize _meta an array', session(initLine({ _meta: [] }))],
    [
      'initialize _meta with a fractional progress token',
      session(initLine({ _meta: { progressToken: 1.5 } })),
    ],
    ['initialize _meta with a progress token', session(initLine({ _meta: { progressToken: 'p' } }))],
    ['tools/list _meta a string', [initLine(), initialized(), listLine(2, { _meta: 'x' }), listLine(3)]],
    ['tools/list with a cursor', [initLine(), initialized(), listLine(2, { cursor: 'c' }), listLine(3)]],
    ['tools/list params an array', [initLine(), initialized(), listLine(2, []), listLine(3)]],
    ['notifications/initialized _meta a number', [initLine(), initialized({ _meta: 3 }), listLine(2)]],
    ['a member JSON-RPC does not have', session(line({ ...init({}), extra: true }))],
    ['clientInfo.title a number', session(initLine({ clientInfo: { name: 'c', version: '1', title: 5 } }))],
    [
      'clientInfo with icons',
      session(initLine({ clientInfo: { name: 'c', version: '1', icons: [{ src: 'x' }] } })),
    ],
    ['an id that is not an integer', session(initLine({}, 1.5))],
    ['an id past 2^53', session(initLine({}, 2 ** 60))],
    ['a line that is not JSON first', ['{"jsonrpc": ', ...session(initLine())]],
    ['a line that is not JSON after initialize', [initLine(), 'not json', initialized(), listLine(2)]],
    ['ping first', [line({ jsonrpc: '2.0', id: 0, method: 'ping' }), ...session(initLine())]],
    ['a notification before initialize', [initialized(), ...session(initLine())]],
    ['an unknown protocol version', session(initLine({ protocolVersion: '1999-01-01' }))],
  ])('%s', async (_, lines) => {
    const [sdk, early] = await Promise.all([sdkOnly(lines), withEarly(lines)]);
    expect(early.answers).toEqual(sdk.answers);
    expect(early.errors).toEqual(sdk.errors);
    expect(sdk.answers.length).toBeGreaterThan(0);
  });

  it('answers a plain session before the SDK loads', async () => {
    const early = await withEarly(session(initLine()));
    expect(early.beforeStart).toEqual([1, 2]);
  });
});

interface Session {
  /** Every answer written, in order, parsed (member order aside, what a client reads). */
  answers: unknown[];
  /** The ids answered before the SDK server was connected. */
  beforeStart: unknown[];
  errors: string[];
}

async function run(
  setup: ServerSetup,
  lines: string[],
  early: ((message: unknown) => JSONRPCMessage | undefined) | undefined,
): Promise<Session> {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const written: Array<{ id?: unknown }> = [];
  stdout.on('data', (chunk: Buffer) => {
    for (const l of chunk.toString('utf8').split('\n').filter(Boolean))
      written.push(JSON.parse(l) as { id?: unknown });
  });
  const transport = new StdioTransport(stdin, stdout);
  void transport.listen(early);
  // A last request that only the SDK answers: once it is answered, everything before it has been.
  for (const l of [...lines, JSON.stringify({ jsonrpc: '2.0', id: 'last', method: 'ping' })])
    stdin.write(`${l}\n`);
  await new Promise((resolve) => setImmediate(resolve));
  const beforeStart = written.map((m) => m.id);
  const server = createServer(setup);
  const errors: string[] = [];
  server.onerror = (error) => errors.push(error.message);
  await server.connect(transport);
  await vi.waitFor(() => expect(written.some((m) => m.id === 'last')).toBe(true));
  await new Promise((resolve) => setTimeout(resolve, 20));
  await server.close();
  return { answers: written, beforeStart, errors };
}
