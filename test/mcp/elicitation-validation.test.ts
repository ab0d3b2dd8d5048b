import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { createServer, setupWith } from '../../src/mcp/server.js';
import { createServices } from '../../src/services.js';
import { TOOLS } from '../../tools/index.js';

// ajv loads lazily (src/mcp/json-schema-validator.ts): elicitation answers must still be checked against the schema.
describe('elicitation answers', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(() => close?.());

  async function serverAnswering(answer: ElicitResult) {
    const server = createServer(
      setupWith(createServices(loadConfig({}, {}, '/tmp'), silentLogger, { env: {}, memory: {} }), TOOLS),
    );
    const client = new Client(
      { name: 'elicit-test', version: '1.0.0' },
      { capabilities: { elicitation: {} } },
    );
    client.setRequestHandler(ElicitRequestSchema, () => answer);
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(a), client.connect(b)]);
    close = async () => {
      await client.close();
      await server.close();
    };
    return server;
  }

  const params = {
    message: 'Spend 4 credits?',
    requestedSchema: {
      type: 'object' as const,
      properties: { confirm: { type: 'boolean' as const } },
      required: ['confirm'],
    },
  };

  it('accepts an answer that matches the requested schema', async () => {
    const server = await serverAnswering({ action: 'accept', content: { confirm: true } });
    await expect(server.elicitInput(params)).resolves.toEqual({
      action: 'accept',
      content: { confirm: true },
    });
  });

  it('rejects an answer that does not match it', async () => {
    const server = await serverAnswering({ action: 'accept', content: { confirm: 'yes please' } });
    await expect(server.elicitInput(params)).rejects.toThrow(/does not match requested schema/);
  });
});
