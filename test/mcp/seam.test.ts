import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)));
}

// One seam: a protocol change (a new MCP revision, a new SDK) touches src/mcp/ and nothing else.
describe('the MCP seam', () => {
  it('is the only place that imports an MCP SDK', async () => {
    const files = [...(await sources('src')), ...(await sources('tools')), ...(await sources('prompts'))];
    const importers: string[] = [];
    for (const file of files) {
      if (/@modelcontextprotocol\//.test(await readFile(join(root, file), 'utf8'))) importers.push(file);
    }
    expect(importers.length).toBeGreaterThan(0);
    expect(importers.filter((f) => !f.startsWith('src/mcp/'))).toEqual([]);
  });
});
