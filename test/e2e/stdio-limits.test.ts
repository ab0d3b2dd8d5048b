import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textOf } from '../helpers/harness.js';
import { BIN, cleanEnv, connectBin, requireBuiltBin, type BinSession } from '../helpers/spawn.js';

// The size of one JSON-RPC message over stdio: the SDK's reader ended the whole server at 10 MiB.

let outputDir: string;
let bin: BinSession;

beforeAll(async () => {
  requireBuiltBin();
  outputDir = await realpath(await mkdtemp(join(tmpdir(), 'atelier-limits-')));
  bin = await connectBin({
    args: [BIN, '--sandbox', '--output-dir', outputDir],
    env: cleanEnv({ ATELIER_LOG_LEVEL: 'debug' }),
  });
});

afterAll(async () => {
  await bin?.close();
  await rm(outputDir, { recursive: true, force: true });
});

/** A real PNG padded with an ignored trailing chunk of zeros to `bytes` in total, as a data: URI. */
async function inlineImage(bytes: number): Promise<string> {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#336699' } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${Buffer.concat([png, Buffer.alloc(bytes - png.length)]).toString('base64')}`;
}

const generate = (args: Record<string, unknown>) =>
  bin.client.callTool({ name: 'generate_image', arguments: args }, undefined, {
    timeout: 60_000,
  }) as Promise<CallToolResult>;

describe('JSON-RPC message size over stdio (built bin)', () => {
  it('accepts a message over the SDK default 10 MiB: a 9 MB reference image inline (12 MB of base64)', async () => {
    const result = await generate({
      prompt: 'from a reference',
      model: 'nano-banana-pro',
      input_image: await inlineImage(9 * 1024 * 1024),
      preview: false,
    });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toMatch(/^Saved 1 image/);
  });

  it('fails a message over the limit alone: that call gets an error, a call in flight and the next call go on', async () => {
    const inFlight = generate({ prompt: 'slow job in flight', model: 'flux-schnell', preview: false });
    const huge = `data:image/png;base64,${'A'.repeat(40 * 1024 * 1024)}`;
    await expect(generate({ prompt: 'too big', input_image: huge })).rejects.toThrow(
      /Request too large: 40\.0 MB; atelier-mcp reads messages of up to 32 MB/,
    );
    const first = await inFlight;
    expect(first.isError, textOf(first)).toBeFalsy();
    expect(textOf(first)).toMatch(/^Saved 1 image/);
    const after = await bin.client.callTool({ name: 'list_models', arguments: {} });
    expect(after.isError).toBeFalsy();
    expect(bin.stderr.join('\n')).toMatch(
      /warn: transport: dropped a JSON-RPC message of 40\.0 MB \(the limit is 32 MB\) for request \d+/,
    );
  });
});
