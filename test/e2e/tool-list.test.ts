import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawToolsList } from '../../scripts/tool-list.js';
import { loadConfig } from '../../src/config.js';
import { BIN, cleanEnv, requireBuiltBin } from '../helpers/spawn.js';

// The bin answers tools/list from a table the build computed (src/tool-list.ts). What a client receives must be
// what the SDK's own handler sends from the source, byte for byte, in every configuration.

/** The raw tools/list line the bin writes on stdout, re-serialized only to cut out the tools array. */
async function binToolsList(args: string[], env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: cleanEnv(env),
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
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
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
  });
  await line(1);
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const answer = await line(2);
  child.kill();
  // The line is JSON.stringify of the message: re-serializing a part of it keeps every byte and key order.
  return JSON.stringify((JSON.parse(answer) as { result: { tools: unknown } }).result.tools);
}

let home: string;
beforeAll(async () => {
  requireBuiltBin();
  home = await mkdtemp(join(tmpdir(), 'atelier-tool-list-'));
});
afterAll(() => rm(home, { recursive: true, force: true }));

describe('tools/list of the built bin', () => {
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
  ])('is what the source server sends: $name', async ({ args, env }) => {
    const fullEnv: Record<string, string> = { ATELIER_HOME: home, PIXELMUSE_API_KEY: 'pm_test_key', ...env };
    const flags: Record<string, string | boolean> = {};
    for (let i = 0; i < args.length; i++) {
      const flag = args[i] as string;
      if (flag === '--read-only') flags.readOnly = true;
      else flags[flag.slice(2)] = args[++i] as string;
    }
    const expected = JSON.stringify(await rawToolsList(loadConfig(flags, fullEnv, home)));
    expect(await binToolsList(args, fullEnv)).toBe(expected);
  });
});
