import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { rawAnswers } from '../../scripts/tool-list.js';
import { loadConfig } from '../../src/config.js';
import { BIN, cleanEnv, requireBuiltBin, ROOT } from '../helpers/spawn.js';

// The bin answers initialize and tools/list from a table the build computed (src/mcp/tool-list.ts), before the MCP SDK
// has loaded (src/mcp/early-answers.ts). What a client receives must be what the source server sends, byte for byte,
// in every configuration; and once loaded, the SDK server inside the bin must agree (else it logs a warning).

/** The raw answers the bin writes on stdout, re-serialized only to cut out their parts, and its stderr. */
async function binAnswers(
  args: string[],
  env: Record<string, string>,
): Promise<{ initialize: string; tools: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cleanEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const line = (id: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const found = out.split('\n').find((l) => l.includes(`"id":${id}`));
        if (found) {
          clearInterval(timer);
          resolve(found);
        }
      }, 10);
      child.once('exit', () => {
        clearInterval(timer);
        reject(new Error(`bin exited before answering ${id}: ${out}`));
      });
    });
  const send = (m: object) => child.stdin.write(`${JSON.stringify(m)}\n`);
  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 't', version: '1' },
    },
  });
  const initialize = await line(1);
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const answer = await line(2);
  // Only the SDK answers ping, after the requests before it: the SDK's initialize and tools/list are compared by then.
  send({ jsonrpc: '2.0', id: 3, method: 'ping' });
  await line(3);
  child.kill();
  // A line is JSON.stringify of the message: re-serializing a part of it keeps every byte and key order.
  return {
    initialize: JSON.stringify((JSON.parse(initialize) as { result: unknown }).result),
    tools: JSON.stringify((JSON.parse(answer) as { result: { tools: unknown } }).result.tools),
    stderr,
  };
}

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string })
  .version;

let home: string;
beforeAll(async () => {
  requireBuiltBin();
  home = await mkdtemp(join(tmpdir(), 'atelier-tool-list-'));
});
afterAll(() => rm(home, { recursive: true, force: true }));

describe('initialize and tools/list of the built bin', () => {
  it.each<{ name: string; args: string[]; env: Record<string, string> }>([
    { name: 'defaults', args: [], env: {} },
    {
      name: 'ModelsLab first, ModelsLab default',
      args: ['--providers', 'modelslab,pixelmuse'],
      env: { ATELIER_DEFAULT_PROVIDER: 'modelslab' },
    },
    {
      name: 'one provider, one toolset',
      args: ['--providers', 'modelslab', '--toolsets', 'generate,billing'],
      env: {},
    },
    { name: 'read-only', args: ['--read-only'], env: {} },
    { name: 'with the admin toolset', args: ['--toolsets', 'all,admin'], env: {} },
    { name: 'admin and read-only', args: ['--read-only'], env: { ATELIER_TOOLSETS: 'admin,account' } },
  ])('is what the source server sends: $name', async ({ args, env }) => {
    const fullEnv: Record<string, string> = { ATELIER_HOME: home, PIXELMUSE_API_KEY: 'pm_test_key', ...env };
    const flags: Record<string, string | boolean> = {};
    for (let i = 0; i < args.length; i++) {
      const flag = args[i] as string;
      if (flag === '--read-only') flags.readOnly = true;
      else flags[flag.slice(2)] = args[++i] as string;
    }
    const expected = await rawAnswers(loadConfig(flags, fullEnv, home));
    const bin = await binAnswers(args, fullEnv);
    expect(bin.tools).toBe(JSON.stringify(expected.tools));
    // A source run calls itself 0.0.0-dev; the bin carries package.json's version.
    const serverInfo = { ...(expected.initialize.serverInfo as object), version: PACKAGE_VERSION };
    expect(bin.initialize).toBe(JSON.stringify({ ...expected.initialize, serverInfo }));
    expect(bin.stderr).not.toMatch(/differs|warn/);
  });
});

describe('the client asks the human before a tool that moves money', () => {
  // DESIGN.md "Money": every money tool but generate_image, whose consent is the server's own quote or form.
  const MOVES_MONEY = [
    'modelslab_add_payment_method',
    'modelslab_create_payment_link',
    'modelslab_fund_wallet',
    'modelslab_manage_subscription',
    'modelslab_subscribe',
    'pixelmuse_buy_credits',
  ];

  it('marks exactly those tools with _meta["anthropic/requiresUserInteraction"] in the built tools/list', async () => {
    const bin = await binAnswers([], { ATELIER_HOME: home, PIXELMUSE_API_KEY: 'pm_test_key' });
    const tools = JSON.parse(bin.tools) as Array<{ name: string; _meta?: unknown }>;
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining([...MOVES_MONEY, 'generate_image']));
    const marked = tools.filter((t) => t._meta !== undefined);
    expect(marked.map((t) => t.name).sort()).toEqual(MOVES_MONEY);
    for (const tool of marked) expect(tool._meta).toEqual({ 'anthropic/requiresUserInteraction': true });
    expect(tools.find((t) => t.name === 'generate_image')).not.toHaveProperty('_meta');
  });
});
