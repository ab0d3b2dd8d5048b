import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN, cleanEnv, requireBuiltBin } from '../helpers/spawn.js';

// What a client writes at spawn, all at once, reaches the bin before the MCP SDK has loaded: the bin answers
// `initialize` and `tools/list` itself (src/mcp/early-answers.ts) and hands everything to the SDK once it is loaded. The
// client must see what the SDK alone would send: one answer per request, in request order, and a log that says
// what was ignored, in lines a person can read.

interface Answer {
  id?: unknown;
  result?: { tools?: unknown[]; protocolVersion?: string };
  error?: unknown;
}

const init = (id: number | string) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'e2e', version: '1' } },
});
const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
const toolsList = (id: number | string) => ({ jsonrpc: '2.0', id, method: 'tools/list' });

/** Writes every line at spawn, then a ping only the SDK answers; returns once it is answered. */
async function exchange(lines: Array<object | string>): Promise<{ answers: Answer[]; stderr: string }> {
  requireBuiltBin();
  const child = spawn(process.execPath, [BIN], {
    env: cleanEnv({ PIXELMUSE_API_KEY: 'pm_test_early', ATELIER_CREDENTIAL_STORE: 'memory' }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const last = { jsonrpc: '2.0', id: 'last', method: 'ping' };
  const answered = new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      if (stdout.includes('"id":"last"')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the bin exited (${code}) before answering: ${stderr}`)));
  });
  child.stdin.write(
    [...lines, last].map((l) => `${typeof l === 'string' ? l : JSON.stringify(l)}\n`).join(''),
  );
  try {
    await answered;
    // Anything the bin would still write after its last answer (a duplicate) has a moment to show.
    await new Promise((resolve) => setTimeout(resolve, 200));
  } finally {
    child.kill();
  }
  const answers = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Answer)
    .filter((a) => a.id !== 'last');
  return { answers, stderr };
}

describe('early answers of the built bin, everything written at spawn', () => {
  it('answers initialize, initialize again and tools/list in that order, once each', async () => {
    const { answers, stderr } = await exchange([init(1), init(2), initialized, toolsList(3)]);
    expect(answers.map((a) => a.id)).toEqual([1, 2, 3]);
    expect(answers[0]?.result?.protocolVersion).toBe('2025-11-25');
    expect(answers[2]?.result?.tools?.length).toBeGreaterThan(0);
    expect(stderr).not.toMatch(/differs/);
  });

  it('answers a tools/list that reuses the id of initialize once, with the tool list, and warns of nothing', async () => {
    const { answers, stderr } = await exchange([init(1), initialized, toolsList(1)]);
    expect(answers).toHaveLength(2);
    expect(answers[0]?.result).toHaveProperty('protocolVersion');
    expect(answers[1]?.result?.tools?.length).toBeGreaterThan(0);
    expect(stderr).not.toMatch(/differs/);
  });

  it('logs a line that is not JSON sent before the SDK loads, and still answers what follows', async () => {
    const { answers, stderr } = await exchange([
      '{"jsonrpc": "2.0", oops',
      init(1),
      initialized,
      toolsList(2),
    ]);
    expect(answers.map((a) => a.id)).toEqual([1, 2]);
    expect(stderr).toMatch(/^\[atelier-mcp\] warn: transport: ignored a line that is not JSON: /m);
  });

  it('logs what the SDK refused in one readable line, not as escaped JSON', async () => {
    const { stderr } = await exchange([
      init(1),
      initialized,
      { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: 5 } },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: {} } },
    ]);
    expect(stderr).toContain(
      'transport: ignored a message that is not valid JSON-RPC tools/list (id 2): params._meta: Invalid input: expected object, received number\n',
    );
    expect(stderr).toContain(
      'transport: Uncaught error in notification handler: params.requestId: Invalid input: expected string, received object\n',
    );
    expect(stderr).not.toContain('\\n');
  });

  it('answers a 2026-07-28 server/discover and tools/list (no initialize) early, as the SDK path would', async () => {
    const _meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {}, url: {} } },
    };
    const { answers, stderr } = await exchange([
      { jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta } },
      { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta } },
      { jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta } },
    ]);
    expect(answers.map((a) => a.id)).toEqual([1, 2, 3]);
    expect(answers[0]?.result).toMatchObject({
      resultType: 'complete',
      supportedVersions: expect.any(Array),
    });
    expect(answers[2]?.result?.tools?.length).toBeGreaterThan(0);
    // The SDK's own answers, made later, were compared with these and found the same.
    expect(stderr).not.toMatch(/differs/);
  });

  it('says where images go once ready, in words', async () => {
    const { stderr } = await exchange([init(1)]);
    expect(stderr).toMatch(
      /^\[atelier-mcp\] info: ready \(live mode\): images are saved in generated\/ under the client's first root, else under \//m,
    );
  });
});
