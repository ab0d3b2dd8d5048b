import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, requireBuiltBin, ROOT } from '../helpers/spawn.js';
import { PUBLIC_TOOL_NAMES } from '../helpers/public-api.js';

// The MCP Inspector's CLI client, 1.0.3: `mcp-inspector --cli` runs this file. It comes from
// @modelcontextprotocol/inspector-cli, which runs on Node 20 without the engines warning of the full Inspector
// (web UI included, Node >= 22.7.5; 2.x needs Node >= 22.19); started directly, it skips the launcher's v1
// deprecation banner.
const INSPECTOR = join(ROOT, 'node_modules', '@modelcontextprotocol', 'inspector-cli', 'build', 'index.js');
const ANNOTATIONS = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'];

let workDir: string;
let runDir: string;

/**
 * `<inspector cli> <command…> --method …` prints the JSON result on stdout. The Inspector passes its own env on
 * to the server, so that env is set in full here.
 */
function inspect(args: string[], env: Record<string, string> = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [INSPECTOR, process.execPath, BIN, '--sandbox', ...args],
      // cwd: 1.0.3 checks that "../package.json" exists relative to the cwd before it imports that path relative to
      // itself (its own package.json, for the client's name); the package.json above runDir makes the check pass.
      { cwd: runDir, env: cleanEnv(env), timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          return reject(new Error(`mcp-inspector ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        try {
          resolve(JSON.parse(stdout));
        } catch {
          reject(new Error(`mcp-inspector printed non-JSON on stdout:\n${stdout.slice(0, 500)}\n${stderr}`));
        }
      },
    );
  });
}

beforeAll(async () => {
  requireBuiltBin();
  if (!existsSync(INSPECTOR)) throw new Error(`${INSPECTOR} is missing: run npm ci (it is a devDependency).`);
  workDir = await realpath(await mkdtemp(join(tmpdir(), 'atelier-inspector-')));
  runDir = join(workDir, 'run');
  await mkdir(runDir);
  await writeFile(join(workDir, 'package.json'), '{}\n');
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('MCP Inspector CLI 1.0.3 against --sandbox', () => {
  it('tools/list: every public tool, each with all four annotations declared', async () => {
    const { tools } = (await inspect(['--method', 'tools/list'])) as {
      tools: Array<{ name: string; description?: string; annotations?: Record<string, unknown> }>;
    };
    expect(tools).toHaveLength(PUBLIC_TOOL_NAMES.length);
    for (const tool of tools) {
      expect(tool.description, tool.name).toBeTruthy();
      for (const key of ANNOTATIONS)
        expect(typeof tool.annotations?.[key], `${tool.name}.${key}`).toBe('boolean');
    }
  });

  it('tools/call generate_image: saves the file under ATELIER_OUTPUT_DIR and says where', async () => {
    const result = (await inspect(
      [
        '--method',
        'tools/call',
        '--tool-name',
        'generate_image',
        '--tool-arg',
        'prompt=a brass compass',
        'model=imagen-3',
        'preview=false',
      ],
      { ATELIER_OUTPUT_DIR: workDir },
    )) as { isError?: boolean; content: Array<{ type: string; text?: string }> };
    expect(result.isError).toBeFalsy();
    const text = result.content.find((c) => c.type === 'text')?.text ?? '';
    const path = join(workDir, 'a-brass-compass.png');
    expect(text).toMatch(
      /^Saved 1 image from Pixelmuse imagen-3 in [\d.]+ s \(1 credit charged\)\. Job id: gemini_\w+\./,
    );
    expect(text).toContain(`- ${path} (1024×1024 PNG`);
    expect((await readFile(path)).subarray(0, 4).toString('latin1')).toBe('\x89PNG');
  });
});
