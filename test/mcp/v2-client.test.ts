import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import { newPlace, requireTestBin, TEST_BIN, type Place } from '../helpers/spend-bins.js';

/**
 * The MCP SDK v2 client (2.4.0), pinned to 2026-07-28, against the built bin in --sandbox: its strict result
 * checks (resultType, cache hints) pass, and it fulfils the bin's input_required answers by itself (roots/list,
 * then the approval form of a paid image) with the handlers a real client registers.
 */

let place: Place | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  await place?.remove();
  client = undefined;
  place = undefined;
});

async function connect(project: string, approve: boolean, asked: string[]) {
  requireTestBin();
  const env = place!.env();
  delete env.ATELIER_OUTPUT_DIR;
  client = new Client(
    { name: 'v2-e2e', version: '1.0.0' },
    {
      capabilities: { elicitation: { form: {} }, roots: {} },
      versionNegotiation: { mode: { pin: '2026-07-28' } },
    },
  );
  client.setRequestHandler('roots/list', () => {
    asked.push('roots/list');
    return { roots: [{ uri: pathToFileURL(project).href, name: 'project' }] };
  });
  client.setRequestHandler('elicitation/create', (request) => {
    asked.push(`elicitation: ${request.params.message.split('\n')[0]}`);
    return approve ? { action: 'accept', content: { approve: true } } : { action: 'decline' };
  });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [TEST_BIN, '--sandbox'],
      env,
      cwd: env.HOME,
      stderr: 'pipe',
    }),
  );
  return client;
}

describe('the MCP SDK v2 client on 2026-07-28 against the built bin', () => {
  it('lists the tools and pays for an MPP image through the round trips, saving it under the client root', async () => {
    place = await newPlace('atelier-v2-');
    const project = join(place.dir, 'project');
    const asked: string[] = [];
    const c = await connect(project, true, asked);
    const { tools } = await c.listTools();
    expect(tools.map((t) => t.name)).toContain('generate_image');

    const result = await c.callTool({
      name: 'generate_image',
      arguments: { prompt: 'a lighthouse at dusk', payment: 'mpp', preview: false },
    });
    const text = (result.content as Array<{ type: string; text?: string }>)
      .map((b) => b.text ?? '')
      .join('\n');
    expect(result.isError, text).toBeFalsy();
    expect(asked).toEqual([
      'roots/list',
      expect.stringMatching(/^elicitation: Approve a charge of \$0\.\d\d USD/),
    ]);
    expect(text).toContain(join(project, 'generated'));
    expect((await readdir(join(project, 'generated'))).length).toBeGreaterThan(0);
  }, 60_000);

  it('charges nothing when the human declines in the client', async () => {
    place = await newPlace('atelier-v2-');
    const asked: string[] = [];
    const c = await connect(join(place.dir, 'project'), false, asked);
    const result = await c.callTool({
      name: 'generate_image',
      arguments: { prompt: 'a lighthouse at dusk', payment: 'mpp', preview: false },
    });
    const text = (result.content as Array<{ type: string; text?: string }>)
      .map((b) => b.text ?? '')
      .join('\n');
    expect(text).toMatch(/^Not charged: the human declined/);
    const report = await c.callTool({ name: 'spend_report', arguments: {} });
    expect(JSON.stringify(report.content)).not.toMatch(/pixelmuse\.mpp/);
  }, 60_000);
});
