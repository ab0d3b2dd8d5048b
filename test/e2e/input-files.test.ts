import { execFileSync } from 'node:child_process';
import { mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textOf } from '../helpers/harness.js';
import { BIN, cleanEnv, connectBin, requireBuiltBin, type BinSession } from '../helpers/spawn.js';

// input_image must be a regular file: over real OS pipes, /dev/stdin and /proc/self/fd/1 are the server's own
// protocol stream, /dev/zero never ends, a FIFO blocks its reader until a writer comes.

let dir: string;
let bin: BinSession;

beforeAll(async () => {
  requireBuiltBin();
  dir = await realpath(await mkdtemp(join(tmpdir(), 'atelier-input-e2e-')));
  execFileSync('mkfifo', [join(dir, 'pipe.png')]);
  await symlink('/dev/zero', join(dir, 'zero.png'));
  await symlink('/proc/self/fd/0', join(dir, 'stdin-link.png'));
  bin = await connectBin({
    args: [BIN, '--sandbox', '--output-dir', join(dir, 'out')],
    env: cleanEnv(),
    cwd: dir,
  });
});

afterAll(async () => {
  await bin?.close();
  await rm(dir, { recursive: true, force: true });
});

async function peakMb(): Promise<number> {
  const status = await import('node:fs/promises').then((fs) =>
    fs.readFile(`/proc/${bin.transport.pid}/status`, 'utf8'),
  );
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]) / 1024;
}

describe('input_image accepts regular files only (built bin over stdio)', () => {
  it.each([
    ['/dev/zero', /is a system file \(\/dev\/zero\)/],
    ['zero.png', /is a system file \(\/dev\/zero\)/],
    ['pipe.png', /is a device, pipe or socket, not an image file/],
    ['/dev/stdin', /is a system file \(\/dev\/stdin\)/],
    ['/proc/self/fd/1', /is a system file \(\/proc\/self\/fd\/1\)/],
    ['/proc/self/environ', /is a system file \(\/proc\/self\/environ\)/],
    ['stdin-link.png', /is a link that leads to no regular file, not an image file/],
    ['.', /is a folder, not an image file/],
  ])('%s is refused before anything is read or charged', async (input, why) => {
    const result = (await bin.client.callTool(
      { name: 'generate_image', arguments: { prompt: 'from a reference', input_image: input } },
      undefined,
      { timeout: 10_000 },
    )) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid input: input_image /);
    expect(textOf(result)).toMatch(why);
  });

  it('is still serving, and never grew on the way', async () => {
    const after = await bin.client.callTool({ name: 'list_models', arguments: {} });
    expect(after.isError).toBeFalsy();
    expect(await peakMb()).toBeLessThan(300);
  });
});
