import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  SANDBOX_PIXELMUSE_KEY,
  startPixelmuseEmulator,
  type PixelmuseEmulator,
} from '../../src/sandbox/index.js';
import { textOf } from '../helpers/harness.js';
import { BIN, cleanEnv, connectBin, requireBuiltBin, type BinSession } from '../helpers/spawn.js';

// Memory bounds of the built server against an upstream that sends far too much. The bound is on the
// server's peak resident memory (VmHWM), read from /proc: a memory figure, not a timing.

const MB = 1024 * 1024;
const PEAK_BOUND_MB = 450;

let emulator: PixelmuseEmulator;
let outputDir: string;
let bin: BinSession | undefined;

beforeAll(async () => {
  requireBuiltBin();
  emulator = await startPixelmuseEmulator({ jobDelayMs: 1_000, maxPreferWaitSeconds: 0 });
  outputDir = await realpath(await mkdtemp(join(tmpdir(), 'atelier-hostile-')));
});
afterEach(async () => {
  await bin?.close();
  bin = undefined;
});
afterAll(async () => {
  await emulator?.close();
  await rm(outputDir, { recursive: true, force: true });
});

async function start(): Promise<BinSession> {
  bin = await connectBin({
    args: [BIN, '--output-dir', outputDir],
    env: cleanEnv({
      PIXELMUSE_BASE_URL: emulator.url,
      PIXELMUSE_API_KEY: SANDBOX_PIXELMUSE_KEY,
      ATELIER_CREDENTIAL_STORE: 'memory',
    }),
  });
  return bin;
}

/** Peak resident set of the spawned server so far, in MB. */
async function peakMb(session: BinSession): Promise<number> {
  const pid = session.transport.pid;
  if (pid === null) throw new Error('the server has no pid');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
  if (!Number.isFinite(kb)) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return kb / 1024;
}

const call = (session: BinSession, args: Record<string, unknown>) =>
  session.client.callTool({ name: 'generate_image', arguments: args }, undefined, {
    timeout: 120_000,
  }) as Promise<CallToolResult>;

// A PNG signature and IHDR (33 bytes, so its base64 ends on a group boundary), then zero bytes.
const PNG_HEAD = Buffer.from(
  '89504e470d0a1a0a0000000d494844520000040000000400080600000000000000',
  'hex',
).toString('base64');

function inlineOutput(base64Bytes: number) {
  const head = `{"id":"gemini_big0001","status":"succeeded","model":"imagen-3","prompt":"big","output":["data:image/png;base64,${PNG_HEAD}`;
  const tail = '"]}';
  return { bytes: head.length + base64Bytes + tail.length, head, fill: 'A', tail };
}

describe('bounded memory against huge upstream answers (built bin over stdio)', () => {
  it('decodes a 20 MB data: URI output without blowing up', async () => {
    const session = await start();
    emulator.inject({ method: 'POST', path: '/api/v1/images', status: 201, huge: inlineOutput(20 * MB) });
    const result = await call(session, { prompt: 'big', model: 'imagen-3', preview: false });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toMatch(/Saved 1 image .* Job id: gemini_big0001\./);
    expect(textOf(result)).toMatch(/\(1024×1024 PNG, 15\.0 MB\)/);
    expect(await peakMb(session)).toBeLessThan(PEAK_BOUND_MB);
  });

  it('refuses a 100 MB data: URI answer at the body cap, and the server goes on', async () => {
    const session = await start();
    emulator.inject({ method: 'POST', path: '/api/v1/images', status: 201, huge: inlineOutput(100 * MB) });
    const result = await call(session, { prompt: 'bigger', model: 'imagen-3' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/response_too_large \(HTTP 201/);
    expect(textOf(result)).toContain('the job may have been created and charged');
    expect(await peakMb(session)).toBeLessThan(PEAK_BOUND_MB);
    const after = await session.client.callTool({ name: 'list_models', arguments: {} });
    expect(after.isError).toBeFalsy();
  });

  it('stops reading a 500 MB poll answer and keeps the job id', async () => {
    const session = await start();
    emulator.inject({
      method: 'GET',
      path: '/api/v1/images/',
      huge: { bytes: 500 * MB, head: '{"id":"img_x","status":"processing","pad":"', tail: '"}' },
    });
    const result = await call(session, { prompt: 'huge poll', model: 'flux-schnell' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/response_too_large \(HTTP 200/);
    expect(text).toMatch(/Pixelmuse job img_\w+ was created and is not lost\./);
    expect(await peakMb(session)).toBeLessThan(PEAK_BOUND_MB);
  });
});
