import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createServer, type ServerParts, type ServerSetup } from '../../src/mcp/server.js';
import { createServices } from '../../src/services.js';
import { variantKey } from '../../src/mcp/tool-list.js';
import { defineTool, type ToolDefinition } from '../../tools/define.js';

// tools/call is ours (src/mcp/tool-call.ts), not the SDK's: arguments are checked against the tool's zod schema, and
// every failure before the handler runs is an isError result with a next step, like the handler's own errors.

const runs: Array<Record<string, unknown>> = [];
const resize = defineTool({
  name: 'resize_test',
  toolset: 'generate',
  providers: ['pixelmuse'],
  title: 'Resize (test)',
  description: 'Test tool. Free.',
  input: { width: z.number().int().min(1), label: z.string().default('plain') },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args) {
    runs.push(args);
    return `resized to ${args.width} (${args.label})`;
  },
}) as unknown as ToolDefinition;

const config = loadConfig({}, {}, '/tmp');
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  runs.length = 0;
  await close?.();
  close = undefined;
});

async function connect(overrides: Partial<ServerSetup> = {}) {
  const logs: string[] = [];
  const log = createLogger('debug', (line) => logs.push(line));
  const services = createServices(config, log, { env: {}, memory: {} });
  const server = createServer({
    config,
    log,
    tools: [resize],
    load: () => Promise.resolve({ services, tools: [resize] }),
    ...overrides,
  });
  const client = new Client({ name: 'tool-call-test', version: '1.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  close = async () => {
    await client.close();
    await server.close();
  };
  const call = (name: string, args: Record<string, unknown>) =>
    client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
  return { client, call, logs, services };
}

const text = (r: CallToolResult) => (r.content[0] as { text: string }).text;

describe('tools/call', () => {
  it('hands the handler the parsed arguments, defaults applied', async () => {
    const { call } = await connect();
    const result = await call('resize_test', { width: 64 });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toBe('resized to 64 (plain)');
    expect(runs).toEqual([{ width: 64, label: 'plain' }]);
  });

  it('refuses arguments that break the schema, naming the parameter, without running the tool', async () => {
    const { call } = await connect();
    const result = await call('resize_test', { width: 'big' });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/Invalid arguments for resize_test/);
    expect(text(result)).toMatch(/width/);
    expect(text(result)).toMatch(/Next: Call resize_test again with arguments that match its input schema/);
    expect(runs).toEqual([]);
  });

  it('answers an unknown tool with an isError result that says where the tools are', async () => {
    const { call } = await connect();
    const result = await call('no_such_tool', {});
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/No tool named no_such_tool/);
    expect(text(result)).toMatch(/Next: .*tools\/list/);
  });

  it('reports a failed load to the call, and loads again for the next one', async () => {
    let broken = true;
    let loads = 0;
    const log = createLogger('error', () => {});
    const services = createServices(config, log, { env: {}, memory: {} });
    const { call } = await connect({
      load: (): Promise<ServerParts> => {
        loads += 1;
        return broken
          ? Promise.reject(new Error('disk on fire'))
          : Promise.resolve({ services, tools: [resize] });
      },
    });
    const failed = await call('resize_test', { width: 1 });
    expect(failed.isError).toBe(true);
    expect(text(failed)).toMatch(/disk on fire/);
    broken = false;
    const next = await call('resize_test', { width: 2 });
    expect(text(next)).toBe('resized to 2 (plain)');
    expect(loads).toBeGreaterThanOrEqual(2);
  });

  it('lists tools from the build table without waiting for the tools to load', async () => {
    const entry = { name: 'resize_test', title: 'from the table', inputSchema: { type: 'object' } };
    const { client, logs } = await connect({
      table: {
        initialize: { versions: [], result: {} },
        tools: [],
        entries: [JSON.stringify(entry)],
        index: { resize_test: { [variantKey(config)]: 0 } },
      },
      // A load that never finishes: tools/list must not depend on it.
      load: () => new Promise<ServerParts>(() => {}),
    });
    expect((await client.listTools()).tools).toEqual([entry]);
    expect(logs.join('\n')).not.toMatch(/warm-up/);
  });
});
