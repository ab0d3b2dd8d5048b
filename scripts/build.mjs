// Bundles the bin so that `npx atelier-mcp` starts fast: one ESM entry plus lazily loaded chunks
// (the sandbox). Native modules (sharp, the keychain) stay external and are imported on first use.
import { build } from 'esbuild';
import { chmod, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { yamlEsbuildPlugin } from './yaml-plugin.mjs';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
const entry = join(root, 'dist', 'cli.js');

async function newestSource() {
  let newest = 0;
  for (const dir of ['src', 'tools', 'prompts']) {
    for (const name of await readdir(join(root, dir), { recursive: true })) {
      newest = Math.max(newest, (await stat(join(root, dir, name))).mtimeMs);
    }
  }
  return Math.max(newest, (await stat(join(root, 'package.json'))).mtimeMs);
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
await build({
  entryPoints: { cli: join(root, 'src', 'cli.ts') },
  outdir: join(root, 'dist'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['sharp', '@napi-rs/keyring'],
  define: { __ATELIER_VERSION__: JSON.stringify(pkg.version) },
  banner: {
    // Some bundled CommonJS dependencies call require(); give them one.
    js: "#!/usr/bin/env node\nimport { createRequire as __atelierRequire } from 'node:module';\nconst require = __atelierRequire(import.meta.url);",
  },
  plugins: [yamlEsbuildPlugin],
  legalComments: 'none',
  logLevel: 'warning',
});
await chmod(entry, 0o755);
process.stderr.write(`built dist/ in ${Date.now() - started} ms\n`);
