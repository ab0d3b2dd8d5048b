import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { TOOLS } from '../../tools/index.js';
import type { ToolDefinition } from '../../tools/define.js';
import type { ServerServices } from '../context.js';
import { createServer, setupWith } from './server.js';
import { VERSION } from '../version.js';

/** The tools/list answer a client would get, for `atelier-mcp tools` and the schema snapshots. */
export async function listToolsAsClient(
  services: ServerServices,
  tools: ToolDefinition[] = TOOLS,
): Promise<Array<Record<string, unknown>>> {
  const server = createServer(setupWith(services, tools));
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'atelier-mcp-tools', version: VERSION });
  await Promise.all([server.connect(a), client.connect(b)]);
  try {
    return (await client.listTools()).tools as Array<Record<string, unknown>>;
  } finally {
    await client.close();
    await server.close();
  }
}
