// esbuild options of the bin, shared by scripts/build.mjs and the start-up test (test/e2e/startup.test.ts),
// which checks what the entry chunk statically imports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { yamlEsbuildPlugin } from './yaml-plugin.mjs';

export const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const SDK_SERVER = /@modelcontextprotocol[\\/]sdk[\\/]dist[\\/]esm[\\/]server[\\/]index\.js$/;

/**
 * The SDK's Server imports its ajv validator statically, so ajv (and ajv-formats) would be evaluated at every
 * start even though src/mcp/server.ts passes a lazily loading one. For that one import only, the bundle gets a stub
 * that fails loudly if it is ever constructed; src/mcp/json-schema-validator.ts still imports the real module.
 */
const lazyAjv = {
  name: 'atelier-lazy-ajv',
  setup(b) {
    b.onResolve({ filter: /validation[\\/]ajv-provider\.js$/ }, (args) =>
      SDK_SERVER.test(args.importer) ? { path: 'sdk-ajv-provider', namespace: 'atelier-stub' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'atelier-stub' }, () => ({
      contents:
        'export class AjvJsonSchemaValidator { constructor() { throw new Error(' +
        "'atelier-mcp passes its own jsonSchemaValidator to the SDK (src/mcp/json-schema-validator.ts)'); } }",
      loader: 'js',
    }));
  },
};

/**
 * ajv-formats carries its own copy of ajv 8 next to the SDK's: every `ajv` it imports resolves to the SDK's, so the
 * lazily loaded validator chunk holds one ajv (143 KB instead of 255 KB to load with the first elicitation).
 */
const oneAjv = {
  name: 'atelier-one-ajv',
  setup(b) {
    const sdkDir = join(root, 'node_modules', '@modelcontextprotocol', 'sdk');
    b.onResolve({ filter: /^ajv(\/.*)?$/ }, (args) =>
      /[\\/]node_modules[\\/]ajv-formats[\\/]/.test(args.importer)
        ? b.resolve(args.path, { resolveDir: sdkDir, kind: args.kind })
        : undefined,
    );
  },
};

/** `outdir` defaults to dist/; `toolList` is the prebuilt tools/list table (scripts/tool-list.ts), if any. */
export function buildOptions(outdir = join(root, 'dist'), toolList = undefined) {
  return {
    entryPoints: { cli: join(root, 'src', 'cli.ts') },
    outdir,
    bundle: true,
    // Code only a tool call (or --sandbox, or a CLI command) needs goes to chunks loaded by import().
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    minify: true,
    // Error classes name themselves after their class (src/errors.ts); mangled names would reach users.
    keepNames: true,
    external: ['sharp', '@napi-rs/keyring'],
    define: {
      __ATELIER_VERSION__: JSON.stringify(pkg.version),
      ...(toolList ? { __ATELIER_TOOL_LIST__: JSON.stringify(JSON.stringify(toolList)) } : {}),
    },
    banner: {
      // Some bundled CommonJS dependencies call require(); give them one.
      js: "#!/usr/bin/env node\nimport { createRequire as __atelierRequire } from 'node:module';\nconst require = __atelierRequire(import.meta.url);",
    },
    plugins: [lazyAjv, oneAjv, yamlEsbuildPlugin],
    legalComments: 'none',
    logLevel: 'warning',
  };
}

/** Bundles and runs scripts/tool-list.ts: every tool's tools/list entry, computed as the server lists it. */
export async function buildToolList(work) {
  const { build } = await import('esbuild');
  const options = buildOptions(join(work, 'tool-list'));
  // Split like the bin: esbuild orders a module that is imported both statically and by import() wrongly in a
  // single file (zod's classes would be used before they are defined).
  await build({
    ...options,
    entryPoints: { 'tool-list': join(root, 'scripts', 'tool-list.ts') },
    minify: false,
  });
  const { buildToolList: run } = await import(pathToFileURL(join(work, 'tool-list', 'tool-list.js')).href);
  return run(work);
}
