import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_PIXELMUSE_KEY } from '../../src/sandbox/index.js';
import { savedPaths, textOf } from '../helpers/harness.js';
import { BIN, cleanEnv, connectBin, requireBuiltBin, runCli, type BinSession } from '../helpers/spawn.js';
import { PUBLIC_TOOL_NAMES as ALL_TOOLS } from '../helpers/public-api.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// The part of the key that makes it usable: the redactor keeps the pm_test_ prefix on purpose.
const KEY_SECRET = SANDBOX_PIXELMUSE_KEY.slice('pm_test_'.length);

let outputDir: string;
let bin: BinSession;

const start = (...flags: string[]) =>
  connectBin({
    args: [BIN, '--sandbox', '--output-dir', outputDir, ...flags],
    env: cleanEnv({ ATELIER_LOG_LEVEL: 'debug' }),
  });

const toolNames = async (session: BinSession) => (await session.client.listTools()).tools.map((t) => t.name);

beforeAll(async () => {
  requireBuiltBin();
  // realpath: on macOS the tmpdir is a symlink and the server reports resolved paths.
  outputDir = await realpath(await mkdtemp(join(tmpdir(), 'atelier-e2e-')));
  bin = await start();
});

afterAll(async () => {
  await bin?.close();
  await rm(outputDir, { recursive: true, force: true });
});

describe('the built bin over stdio (--sandbox)', () => {
  it('initializes as atelier-mcp with tools and prompts and lists every public tool', async () => {
    expect(bin.client.getServerVersion()?.name).toBe('atelier-mcp');
    expect(bin.client.getServerCapabilities()).toMatchObject({ tools: {}, prompts: {} });
    expect(bin.client.getInstructions()).toContain('generate_image');
    expect(await toolNames(bin)).toEqual(ALL_TOOLS);
  });

  it('generates with a sync model: a real PNG in the output dir and an inline preview', async () => {
    const result = (await bin.client.callTool({
      name: 'generate_image',
      arguments: { prompt: 'a paper crane on a desk', model: 'imagen-3' },
    })) as CallToolResult;
    expect(result.isError, textOf(result)).toBeFalsy();
    const [path] = savedPaths(result);
    expect(path).toBe(join(outputDir, 'a-paper-crane-on-a-desk.png'));
    expect((await readFile(path!)).subarray(0, 8)).toEqual(PNG_MAGIC);
    const image = result.content.find((c) => c.type === 'image');
    expect(image).toMatchObject({ type: 'image', mimeType: expect.stringMatching(/^image\//) });
    expect(Buffer.from(image!.data as string, 'base64').length).toBeGreaterThan(100);
    // The saved file is a resource too: its link reads back the exact bytes.
    const link = result.content.find((c) => c.type === 'resource_link') as { uri: string } | undefined;
    expect(link?.uri).toMatch(/^atelier:\/\/generations\/pixelmuse-/);
    const { contents } = await bin.client.readResource({ uri: link!.uri });
    expect(Buffer.from((contents[0] as { blob: string }).blob, 'base64')).toEqual(await readFile(path!));
  });

  it("takes the client's capabilities from initialize although it answers before the SDK loads: the root", async () => {
    // No --output-dir: the server asks the client for its roots, which it may only do if the SDK server saw the
    // client declare them in the initialize the bin answered early (src/mcp/early-answers.ts).
    const project = await realpath(await mkdtemp(join(tmpdir(), 'atelier-root-')));
    const session = await connectBin({
      args: [BIN, '--sandbox'],
      env: cleanEnv({ ATELIER_LOG_LEVEL: 'debug' }),
      roots: [pathToFileURL(project).href],
    });
    try {
      const result = (await session.client.callTool({
        name: 'generate_image',
        arguments: { prompt: 'a kite', model: 'imagen-3', preview: false },
      })) as CallToolResult;
      expect(result.isError, textOf(result)).toBeFalsy();
      expect(savedPaths(result)).toEqual([join(project, 'generated', 'a-kite.png')]);
      expect(session.stderr.join('\n')).not.toMatch(/differs/);
    } finally {
      await session.close();
      await rm(project, { recursive: true, force: true });
    }
  });

  it('waits for an async model, reporting progress on the token the client sent', async () => {
    const progress: Array<{ progress: number; message?: string }> = [];
    const result = (await bin.client.callTool(
      {
        name: 'generate_image',
        arguments: { prompt: 'a night market', model: 'flux-schnell', preview: false },
      },
      undefined,
      { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 20_000 },
    )) as CallToolResult;
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toMatch(/Saved 1 image from Pixelmuse flux-schnell .* Job id: img_\w+\./);
    const [path] = savedPaths(result);
    expect((await readFile(path!)).subarray(0, 8)).toEqual(PNG_MAGIC);
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]?.message).toContain('Submitting');
  });

  it('lists, renders and completes prompts (built-ins bundled as data)', async () => {
    const { prompts } = await bin.client.listPrompts();
    expect(prompts.map((p) => p.name)).toContain('hero_image');
    const { completion } = await bin.client.complete({
      ref: { type: 'ref/prompt', name: 'hero_image' },
      argument: { name: 'aspect_ratio', value: '16' },
    });
    expect(completion.values).toEqual(['16:9']);
    const hero = await bin.client.getPrompt({ name: 'hero_image', arguments: { product: 'a bike lock' } });
    expect(hero.messages[0]?.role).toBe('user');
    expect(JSON.stringify(hero.messages[0]?.content)).toContain('a bike lock');
  });

  it('logs to stderr, never the sandbox key', async () => {
    await new Promise((r) => setTimeout(r, 50));
    expect(bin.stderr.some((l) => l.startsWith('[atelier-mcp] debug:'))).toBe(true);
    expect(bin.stderr.some((l) => l.includes('sandbox: Pixelmuse emulator on http://127.0.0.1:'))).toBe(true);
    for (const line of bin.stderr) {
      expect(line).not.toContain(SANDBOX_PIXELMUSE_KEY);
      expect(line).not.toContain(KEY_SECRET);
    }
  });
});

describe('tool selection flags on the built bin', () => {
  it('--read-only lists only read-only tools', async () => {
    const session = await start('--read-only');
    try {
      const { tools } = await session.client.listTools();
      expect(tools.map((t) => t.name)).toEqual([
        'list_models',
        'get_pricing',
        'account_status',
        'spend_report',
        'modelslab_profile',
        'modelslab_usage',
        'pixelmuse_list_images',
        'modelslab_wallet',
        'modelslab_list_plans',
      ]);
      for (const t of tools) expect(t.annotations?.readOnlyHint).toBe(true);
    } finally {
      await session.close();
    }
  });

  it('--toolsets images lists only the Pixelmuse image tools', async () => {
    const session = await start('--toolsets', 'images');
    try {
      expect(await toolNames(session)).toEqual([
        'pixelmuse_list_images',
        'pixelmuse_update_image',
        'pixelmuse_delete_image',
      ]);
    } finally {
      await session.close();
    }
  });

  it('--providers modelslab --toolsets images refuses to start, saying why: no image tool works with ModelsLab', async () => {
    const result = await runCli(['--providers', 'modelslab', '--toolsets', 'images'], { env: cleanEnv() });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /^Invalid input: No tool matches toolsets .*providers modelslab\.\nNext: Widen/,
    );
  });
});
