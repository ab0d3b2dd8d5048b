import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOptions, buildToolList } from '../../scripts/build-options.mjs';
import { cleanEnv, ROOT } from '../helpers/spawn.js';

// Born lazy: nothing that only a tool call needs is evaluated before `initialize` is answered. These are the
// modules that cost start-up time (or memory) and that no answer to initialize or tools/list needs. A new tool
// file, provider client or media helper falls under one of these patterns without anyone adding it here.
const HEAVY: Array<[string, RegExp]> = [
  ['undici', /node_modules\/undici\//],
  ['ajv', /node_modules\/(?:.+\/)?ajv(?:-formats)?\//],
  ['sharp', /node_modules\/(?:@img\/)?sharp/],
  ['@napi-rs/keyring', /node_modules\/@napi-rs\/keyring/],
  ['the sandbox', /^src\/sandbox\//],
  ['tool modules', /^tools\/(?!define\.ts$)/],
  ['the HTTP client', /^src\/http\/(?!undici\.ts$)/],
  ['provider clients', /^src\/providers\//],
  ['media', /^src\/media\//],
  ['spend', /^src\/spend\//],
  ['credentials', /^src\/credentials\//],
  // The one-time secret pages (an HTTP server and their HTML): loaded by the tools that open one, on that call.
  ['secret pages', /^src\/entry\//],
  ['zod to JSON Schema', /^src\/mcp\/tool-schema\.ts$/],
  ['node:crypto', /^node:crypto$/],
];
const heavyIn = (paths: Iterable<string>) =>
  [...new Set([...paths].flatMap((p) => HEAVY.filter(([, re]) => re.test(p)).map(([name]) => name)))].sort();
const ALL_HEAVY = HEAVY.map(([name]) => name).sort();
/** What the bin can load later: sharp and the keychain are external packages, everything else is bundled. */
const LOADED_LATER = ALL_HEAVY.filter((name) => name !== 'sharp' && name !== '@napi-rs/keyring');

let dir: string;
let meta: Metafile;
let entry: string;

/** The inputs bundled into an output file, or the file itself when it is outside the bundle (an external). */
const inputsOf = (file: string) => Object.keys(meta.outputs[file]?.inputs ?? { [file]: 0 });
/** Every input of the bundle, and every external module (node:crypto…) some output imports. */
const everything = () => [
  ...Object.keys(meta.inputs),
  ...Object.values(meta.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)),
];

beforeAll(async () => {
  // Inside the repo so that the externals (sharp, the keychain) resolve from its node_modules.
  await mkdir(join(ROOT, 'node_modules', '.cache'), { recursive: true });
  dir = await mkdtemp(join(ROOT, 'node_modules', '.cache', 'atelier-startup-'));
  const result = await build({
    // With the tools/list table, as scripts/build.mjs builds the bin: it is what lets the bin list tools unloaded.
    ...buildOptions(join(dir, 'dist'), await buildToolList(dir)),
    absWorkingDir: ROOT,
    metafile: true,
    logLevel: 'error',
  });
  meta = result.metafile!;
  // Every target of an import() is an entry point of its own when splitting: pick the bin's.
  entry = Object.keys(meta.outputs).find((o) => meta.outputs[o]!.entryPoint === 'src/cli.ts')!;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

describe('start-up of the bundled bin', () => {
  it('keeps heavy modules out of the static import graph of the entry chunk', () => {
    const reached = new Set([entry]);
    const queue = [entry];
    while (queue.length > 0) {
      for (const imp of meta.outputs[queue.pop()!]!.imports) {
        if (imp.kind !== 'import-statement' || reached.has(imp.path)) continue;
        reached.add(imp.path);
        if (meta.outputs[imp.path]) queue.push(imp.path);
        else reached.add(imp.path.startsWith('node:') ? imp.path : `node_modules/${imp.path}/`); // an external
      }
    }
    expect(heavyIn([...reached].flatMap(inputsOf))).toEqual([]);
    // The MCP SDK (and zod, which builds its schemas) loads once `initialize` is answered (src/mcp/early-answers.ts).
    const sdk = /node_modules\/(?:@modelcontextprotocol\/sdk|zod)\//;
    expect([...reached].flatMap(inputsOf).filter((i) => sdk.test(i))).toEqual([]);
    expect(Object.keys(meta.inputs).some((i) => sdk.test(i))).toBe(true);
    // ...and the bundle still has them (or imports them) for the calls that need them, so the test proves something.
    expect(heavyIn(everything())).toEqual(LOADED_LATER);
  });

  it('bundles one ajv, and the lazily loaded validator still rejects an answer that breaks its schema', async () => {
    expect(Object.keys(meta.inputs).filter((i) => i.endsWith('/ajv/dist/ajv.js'))).toHaveLength(1);
    const chunk = Object.keys(meta.outputs).find((o) =>
      meta.outputs[o]!.entryPoint?.endsWith('@modelcontextprotocol/sdk/dist/esm/validation/ajv-provider.js'),
    );
    const { AjvJsonSchemaValidator } = (await import(pathToFileURL(join(ROOT, chunk!)).href)) as {
      AjvJsonSchemaValidator: new () => { getValidator(s: object): (v: unknown) => { valid: boolean } };
    };
    const check = new AjvJsonSchemaValidator().getValidator({
      type: 'object',
      properties: { email: { type: 'string', format: 'email' } },
      required: ['email'],
    });
    expect(check({ email: 'a@example.com' }).valid).toBe(true);
    // A `format` is checked only when ajv-formats is wired in, as the SDK's own validator does.
    expect(check({ email: 'not an address' }).valid).toBe(false);
    expect(check({}).valid).toBe(false);
  });

  it(
    'loads none of them before answering initialize and tools/list, then warms up what a call needs',
    { timeout: 60_000 },
    async () => {
      const log = join(dir, 'loaded.txt');
      await writeFile(log, '');
      const hooks = join(dir, 'hooks.mjs');
      await writeFile(
        hooks,
        "import { appendFileSync } from 'node:fs';\nlet log;\nexport function initialize(data) { log = data; }\n" +
          "export async function load(url, context, next) { appendFileSync(log, url + '\\n'); return next(url, context); }\n",
      );
      const register = join(dir, 'register.mjs');
      await writeFile(
        register,
        `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)}, { data: ${JSON.stringify(log)} });\n`,
      );
      // As a user starts it: a key in the env, no --sandbox.
      const child = spawn(process.execPath, ['--import', register, join(ROOT, entry)], {
        env: cleanEnv({ PIXELMUSE_API_KEY: `pm_live_${'0'.repeat(32)}` }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      try {
        const answers = lines(child);
        send(child, {
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 't', version: '1' },
          },
        });
        expect((await answers.next()).result).toHaveProperty('serverInfo.name', 'atelier-mcp');
        send(child, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
        expect(((await answers.next()).result as { tools: unknown[] }).tools.length).toBeGreaterThan(5);

        const loadedInputs = async () =>
          heavyIn(
            (await readFile(log, 'utf8'))
              .split('\n')
              .filter((u) => u.startsWith('file:'))
              .flatMap((u) => inputsOf(relative(ROOT, fileURLToPath(u)))),
          );
        // The warm-up waits for notifications/initialized, which this client has not sent yet.
        expect(await loadedInputs()).toEqual([]);

        send(child, { jsonrpc: '2.0', method: 'notifications/initialized' });
        // A deadline, not a timing assertion: loading takes ~0.1 s, far longer on a busy machine.
        const warmed = ['media', 'provider clients', 'spend', 'the HTTP client', 'tool modules', 'undici'];
        const isWarm = async () => {
          const loaded = await loadedInputs();
          return warmed.every((name) => loaded.includes(name));
        };
        for (let i = 0; i < 400 && !(await isWarm()); i++) await sleep(50);
        expect(await loadedInputs()).toEqual(expect.arrayContaining(warmed));
      } finally {
        // Gone before afterAll removes its directory.
        if (child.exitCode === null && child.signalCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill();
          await exited;
        }
      }
    },
  );
});

function send(child: ChildProcessWithoutNullStreams, message: unknown): void {
  child.stdin.write(`${JSON.stringify(message)}\n`);
}

/** JSON-RPC messages from the child's stdout, one per call of next(). */
function lines(child: ChildProcessWithoutNullStreams) {
  const queue: Array<Record<string, unknown>> = [];
  const waiting: Array<(m: Record<string, unknown>) => void> = [];
  let partial = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts.filter(Boolean)) {
      const m = JSON.parse(p) as Record<string, unknown>;
      const w = waiting.shift();
      if (w) w(m);
      else queue.push(m);
    }
  });
  return {
    next: () =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const m = queue.shift();
        if (m) return resolve(m);
        waiting.push(resolve);
        child.once('exit', (code) => reject(new Error(`the bin exited (${code}):\n${stderr}`)));
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
