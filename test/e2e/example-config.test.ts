import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, cleanEnv, connectBin, requireBuiltBin, ROOT } from '../helpers/spawn.js';

// mcp.example.json is what a user copies into Claude Code, Cursor or another client: every entry must start and
// answer initialize. Its `npx -y atelier-mcp` names the published package; here the local bin stands in for it
// (test/e2e/pack.test.ts starts the packed tarball through npx).

interface Entry {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

const example = JSON.parse(readFileSync(join(ROOT, 'mcp.example.json'), 'utf8')) as {
  mcpServers: Record<string, Entry>;
};

beforeAll(() => requireBuiltBin());

describe('mcp.example.json', () => {
  it.each(Object.entries(example.mcpServers))(
    '%s starts and answers initialize and tools/list',
    async (_, entry) => {
      expect([entry.command, ...entry.args.slice(0, 2)]).toEqual(['npx', '-y', 'atelier-mcp']);
      const session = await connectBin({ args: [BIN, ...entry.args.slice(2)], env: cleanEnv(entry.env) });
      try {
        expect(session.client.getServerVersion()?.name).toBe('atelier-mcp');
        const { tools } = await session.client.listTools();
        expect(tools.length).toBeGreaterThan(0);
      } finally {
        await session.close();
      }
      expect(session.stderr.join('\n')).not.toMatch(/\] (warn|error):/);
    },
  );
});
