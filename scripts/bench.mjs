// `npm run bench`: prints the figures the README reports. No pass/fail: timings vary by machine, so they
// live here and never in tests.
//   (a) cold start to the `initialize` answer: the bundled bin (live and --sandbox) next to a bare SDK
//       server and a bare Node floor, spawned interleaved in the same run;
//   (b) approximate tokens of tools/list (JSON length / 4), per tool, for the default flags and --read-only;
//   (c) time from job completion to tool result, against a Pixelmuse emulator running in this process, for
//       jobs finished inside Prefer: wait and for jobs that outlast it (picked up by get_generation);
//   plus the resident memory of an idle server.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'dist', 'cli.js');
const N = Number(process.env.BENCH_RUNS ?? 10);
const out = (line = '') => process.stdout.write(`${line}\n`);
const work = await mkdtemp(join(tmpdir(), 'atelier-bench-'));
const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? work };

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { median: at(0.5), p90: at(0.9), min: sorted[0], max: sorted.at(-1), n: sorted.length };
}
const ms = (v) => `${v.toFixed(0).padStart(5)} ms`;
const row = (label, values) => {
  const s = stats(values);
  return `  ${label.padEnd(38)} median ${ms(s.median)}  p90 ${ms(s.p90)}  min ${ms(s.min)}  max ${ms(s.max)}  (n=${s.n})`;
};

const INITIALIZE = `${JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'bench', version: '1.0.0' },
  },
})}\n`;

/**
 * Spawns a server, writes `initialize` at once, and times spawn -> the answer line on stdout. With
 * `idle`, also sends tools/list, waits, and reads VmRSS (Linux) of the idle process.
 */
function coldStart(args, env, { idle = false } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let buffer = '';
    let result;
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(new Error(`${args.join(' ')} exited before answering initialize`));
    });
    child.stdout.setEncoding('utf8').on('data', async (chunk) => {
      buffer += chunk;
      if (result || !buffer.includes('\n')) return;
      result = { ms: Number(process.hrtime.bigint() - t0) / 1e6 };
      if (idle) {
        child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
        child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })}\n`);
        await new Promise((r) => setTimeout(r, 1_000));
        result.rssMb = await readFile(`/proc/${child.pid}/status`, 'utf8')
          .then((s) => Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1]) / 1024)
          .catch(() => undefined);
      }
      child.stdin.end();
      // Our server exits on stdin end; a bare server may not.
      setTimeout(() => child.kill(), 2_000).unref();
    });
    child.stdin.write(INITIALIZE);
  });
}

async function writeBareServers() {
  const sdk = (p) => import.meta.resolve(`@modelcontextprotocol/sdk/${p}`);
  const bareSdk = join(work, 'bare-sdk-server.mjs');
  await writeFile(
    bareSdk,
    [
      `import { McpServer } from ${JSON.stringify(sdk('server/mcp.js'))};`,
      `import { StdioServerTransport } from ${JSON.stringify(sdk('server/stdio.js'))};`,
      `import { z } from ${JSON.stringify(import.meta.resolve('zod'))};`,
      `const server = new McpServer({ name: 'bare', version: '1.0.0' });`,
      `server.registerTool('echo', { description: 'Echoes text.', inputSchema: { text: z.string() } },`,
      `  async ({ text }) => ({ content: [{ type: 'text', text }] }));`,
      `await server.connect(new StdioServerTransport());`,
      `process.stdin.on('end', () => process.exit(0));`,
    ].join('\n'),
  );
  // The floor: Node itself answering initialize by hand, no SDK, no zod.
  const floor = join(work, 'bare-node.mjs');
  await writeFile(
    floor,
    [
      `process.stdin.setEncoding('utf8').once('data', (line) => {`,
      `  const { id } = JSON.parse(line.split('\\n')[0]);`,
      `  process.stdout.write(JSON.stringify({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-06-18',`,
      `    capabilities: {}, serverInfo: { name: 'floor', version: '0' } } }) + '\\n');`,
      `});`,
      `process.stdin.on('end', () => process.exit(0));`,
    ].join('\n'),
  );
  return { bareSdk, floor };
}

async function benchColdStart() {
  const { bareSdk, floor } = await writeBareServers();
  const variants = [
    { label: 'node floor (no SDK)', args: [floor] },
    { label: 'bare SDK server (1 tool, unbundled)', args: [bareSdk] },
    { label: 'atelier-mcp (dist/cli.js)', args: [bin] },
    { label: 'atelier-mcp --sandbox', args: [bin, '--sandbox'] },
  ];
  const times = new Map(variants.map((v) => [v.label, []]));
  // One warm-up each (file cache), then N rounds interleaved so drift hits every variant alike.
  for (const v of variants) await coldStart(v.args, baseEnv);
  for (let i = 0; i < N; i++) {
    for (const v of variants) times.get(v.label).push((await coldStart(v.args, baseEnv)).ms);
  }
  out('(a) Cold start: spawn -> initialize answer on stdout');
  for (const v of variants) out(row(v.label, times.get(v.label)));
  out();
  out('Idle server memory (VmRSS, after initialize + tools/list + 1 s)');
  for (const v of variants.slice(1)) {
    const { rssMb } = await coldStart(v.args, baseEnv, { idle: true });
    out(`  ${v.label.padEnd(38)} ${rssMb === undefined ? 'n/a (no /proc)' : `${rssMb.toFixed(1)} MB`}`);
  }
}

async function connect(args, env) {
  const transport = new StdioClientTransport({ command: process.execPath, args, env, stderr: 'pipe' });
  let log = '';
  transport.stderr?.on('data', (c) => (log += c));
  const client = new Client({ name: 'atelier-bench', version: '1.0.0' });
  await client.connect(transport);
  return { client, log: () => log };
}

async function benchTokens() {
  out('(b) Approximate tokens of tools/list (JSON length / 4)');
  for (const [label, flags] of [
    ['default flags', []],
    ['--read-only', ['--read-only']],
  ]) {
    const { client } = await connect([bin, '--sandbox', ...flags], baseEnv);
    const { tools } = await client.listTools();
    await client.close();
    const total = JSON.stringify({ tools }).length;
    out(`  ${label}: ${tools.length} tools, ${total} chars, ~${Math.ceil(total / 4)} tokens`);
    if (flags.length === 0) {
      for (const t of tools) {
        const chars = JSON.stringify(t).length;
        const schema = JSON.stringify(t.inputSchema).length;
        out(
          `    ${t.name.padEnd(24)} ~${String(Math.ceil(chars / 4)).padStart(4)} tokens (schema ~${Math.ceil(schema / 4)})`,
        );
      }
    }
  }
}

/** The emulator is TypeScript: bundle it on the fly, leaving sharp to load from this repo's node_modules. */
async function loadEmulator() {
  const outfile = join(work, 'pixelmuse-emulator.mjs');
  const sharpUrl = import.meta.resolve('sharp');
  await build({
    entryPoints: [join(root, 'src', 'sandbox', 'pixelmuse.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    plugins: [
      {
        name: 'sharp-from-repo',
        setup(b) {
          b.onResolve({ filter: /^sharp$/ }, () => ({ path: sharpUrl, external: true }));
        },
      },
    ],
  });
  return import(pathToFileURL(outfile).href);
}

async function benchCompletionToResult() {
  const { startPixelmuseEmulator, SANDBOX_PIXELMUSE_KEY } = await loadEmulator();
  // Short jobs: the figure is what happens after completion, not the job length.
  const emulator = await startPixelmuseEmulator({
    jobDelayMs: { 'flux-schnell': 400, 'recraft-v4': 1_800 },
    rateLimitPerMinute: 100_000,
  });
  const outputDir = join(work, 'out');
  const { client, log } = await connect([bin, '--output-dir', outputDir], {
    ...baseEnv,
    PIXELMUSE_BASE_URL: emulator.url,
    PIXELMUSE_API_KEY: SANDBOX_PIXELMUSE_KEY,
    ATELIER_CREDENTIAL_STORE: 'memory',
    ATELIER_LOG_LEVEL: 'warn',
  });
  const completedAt = async (id) => {
    const res = await globalThis.fetch(`${emulator.url}/api/v1/images/${id}`, {
      headers: { authorization: `Bearer ${SANDBOX_PIXELMUSE_KEY}` },
    });
    const image = await res.json();
    if (!image.completed_at) throw new Error(`job ${id} has no completed_at (status ${image.status})`);
    return Date.parse(image.completed_at);
  };
  const call = async (name, args) => {
    const result = await client.callTool({ name, arguments: args }, undefined, { timeout: 60_000 });
    const receivedAt = Date.now();
    const text = result.content.find((c) => c.type === 'text')?.text ?? '';
    if (result.isError) throw new Error(`${name} failed: ${text}\n${log()}`);
    return { text, receivedAt, id: /job (?:id: )?((?:img|gemini)_\w+)/i.exec(text)?.[1] };
  };

  const series = {
    'inside Prefer: wait, with preview': [],
    'inside Prefer: wait, preview: false': [],
    'after Prefer: wait (get_generation)': [],
  };
  for (let i = 0; i < N; i++) {
    for (const [label, preview] of [
      ['inside Prefer: wait, with preview', true],
      ['inside Prefer: wait, preview: false', false],
    ]) {
      const r = await call('generate_image', {
        prompt: `bench ${label} ${i}`,
        model: 'flux-schnell',
        preview,
      });
      series[label].push(r.receivedAt - (await completedAt(r.id)));
    }
    // Outlasts the 1 s Prefer: wait, comes back STILL RUNNING, then get_generation polls it to the end.
    const first = await call('generate_image', {
      prompt: `bench slow ${i}`,
      model: 'recraft-v4',
      max_wait_seconds: 1,
    });
    if (!first.text.startsWith('STILL RUNNING'))
      throw new Error(`expected STILL RUNNING, got: ${first.text}`);
    const r = await call('get_generation', { provider: 'pixelmuse', id: first.id, max_wait_seconds: 30 });
    series['after Prefer: wait (get_generation)'].push(r.receivedAt - (await completedAt(first.id)));
  }
  await client.close();
  await emulator.close();
  out('(c) Job completion (emulator completed_at) -> tool result received by the client');
  for (const [label, values] of Object.entries(series)) out(row(label, values));
  out('  (includes the emulator drawing the PNG on first download, its stand-in for the CDN fetch; the');
  out('  get_generation row also includes up to one 500 ms poll interval, the polling schedule)');
}

try {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  out(
    `atelier-mcp ${pkg.version} bench on Node ${process.version}, ${process.platform}/${process.arch}, N=${N}`,
  );
  out();
  await benchColdStart();
  out();
  await benchTokens();
  out();
  await benchCompletionToResult();
} finally {
  await rm(work, { recursive: true, force: true });
}
