// Bundles the bin so that `npx atelier-mcp` starts fast: one minified ESM entry that holds only what answering
// `initialize` and `tools/list` from the build's table needs (scripts/tool-list.ts, src/mcp/early-answers.ts), plus
// chunks loaded by import(): the MCP SDK server, the tools and their services, undici, ajv, the sandbox, the
// other CLI commands. Native modules (sharp, the keychain) stay external and are imported on first use.
import { build } from 'esbuild';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOptions, buildToolList, root } from './build-options.mjs';

const entry = join(root, 'dist', 'cli.js');

async function newestSource() {
  let newest = 0;
  for (const dir of ['src', 'tools', 'prompts']) {
    for (const name of await readdir(join(root, dir), { recursive: true })) {
      newest = Math.max(newest, (await stat(join(root, dir, name))).mtimeMs);
    }
  }
  for (const file of [
    'package.json',
    'scripts/build.mjs',
    'scripts/build-options.mjs',
    'scripts/yaml-plugin.mjs',
    'scripts/tool-list.ts',
  ]) {
    newest = Math.max(newest, (await stat(join(root, file))).mtimeMs);
  }
  return newest;
}

if (process.argv.includes('--if-needed')) {
  const built = await stat(entry).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  if (built > (await newestSource())) process.exit(0);
}

const started = Date.now();
// Chunk names change with the code: stale ones would otherwise ship in the package.
await rm(join(root, 'dist'), { recursive: true, force: true });
const work = await mkdtemp(join(tmpdir(), 'atelier-build-'));
try {
  await build(buildOptions(undefined, await buildToolList(work)));
} finally {
  await rm(work, { recursive: true, force: true });
}
await chmod(entry, 0o755);
process.stderr.write(`built dist/ in ${Date.now() - started} ms\n`);
