// `npm run bench`: one table of what a user feels, measured in one run, with the goals of issue 6 beside the
// figures. `-- --quick` for fewer runs, `-- --only cold,first,tokens,jobs,memory,render` for some sections,
// `-- --bin <path/to/cli.js>` to measure another build (e.g. an older one, for a before/after). Never pass/fail: timings depend on the machine, so they live here
// and never in tests. README "Performance" quotes the latest table with its date and machine.
//
//   cold         spawn -> first answer and -> `tools/list` answer, the bundled bin as a user starts it (keys in the
//                env, no --sandbox), in both protocol eras (2025-11-25: `initialize`; 2026-07-28: `server/discover`
//                and `tools/list` with `_meta`), against one reference: a bare bundled + minified MCP SDK server
//                with one tool, answering `initialize`; alternating, medians and p90; idle RSS of both
//   first        the first tool call that makes an HTTP request (list_models against a loopback emulator through
//                PIXELMUSE_BASE_URL), right after tools/list and 1 s later, and the second call for comparison
//   tokens       tools/list as the client receives it (JSON length / 4): total, per toolset, per tool
//   jobs         for each provider the sandbox emulates and jobs that finish after 2, 10 and 30 s: time from job
//                completion to the tool result, and API requests per job, against a fixed 2 s poll
//   memory       RSS of the bin over N sandbox generations in one process, 4 at a time, after a warm-up of that load
//   render       the sandbox's PNG renderer (was a timed test in test/sandbox/render.test.ts)
import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { clearTimeout, setTimeout } from 'node:timers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const binFlag = argv.indexOf('--bin');
const bin = binFlag >= 0 ? resolve(argv[binFlag + 1]) : join(root, 'dist', 'cli.js');
const RUNS = Number(process.env.BENCH_RUNS ?? (QUICK ? 15 : 30));
const JOB_SECONDS = [2, 10, 30];
const JOB_REPEATS = QUICK ? 1 : 3;
const GENERATIONS = QUICK ? 50 : 200;
// Before the measured generations: some one at a time, then a warm-up of the measured load (4 at a time).
const MEMORY_SEQUENTIAL = 10;
const MEMORY_WARM = QUICK ? 40 : 100;
const FIXED_POLL_S = 2;
const JOB_STAGGER_MS = 4_000 / 3;

/**
 * Every provider the sandbox emulates, one entry each: the emulator module and how to start it with jobs that take
 * `jobMs`, the env that points the bin at it, and the generate_image arguments that pick a job of that length.
 */
const PROVIDERS = [
  {
    name: 'pixelmuse',
    module: 'src/sandbox/index.ts',
    start: (m, jobMs) => m.startPixelmuseEmulator({ jobDelayMs: jobMs, rateLimitPerMinute: 1e6 }),
    env: (m, url) => ({ PIXELMUSE_BASE_URL: url, PIXELMUSE_API_KEY: m.SANDBOX_PIXELMUSE_KEY }),
    args: { model: 'flux-schnell' },
  },
  {
    name: 'modelslab',
    module: 'src/sandbox/index.ts',
    start: (m, jobMs) => m.startModelslabEmulator({ generation: { jobDelayMs: jobMs }, walletUsd: 1_000 }),
    env: (m, url) => ({ MODELSLAB_BASE_URL: url, MODELSLAB_API_KEY: m.SANDBOX_MODELSLAB_KEY }),
    args: { provider: 'modelslab', model: 'flux' },
  },
];

const out = (line = '') => process.stdout.write(`${line}\n`);
const note = (line) => process.stderr.write(`bench: ${line}\n`);
const work = await mkdtemp(join(tmpdir(), 'atelier-bench-'));
const baseEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work };
if (process.env.NODE_EXTRA_CA_CERTS) baseEnv.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
// As a user starts it: keys in the env. These are never sent anywhere: the cold start makes no request.
const userEnv = { ...baseEnv, PIXELMUSE_API_KEY: `pm_live_${'0'.repeat(32)}`, MODELSLAB_API_KEY: 'bench' };

function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { median: at(0.5), p90: at(0.9), n: sorted.length };
}
const ms = (v) => `${Math.round(v)} ms`;
const sec = (v) => `${(v / 1000).toFixed(2)} s`;
const mb = (v) => (v === undefined ? 'n/a' : `${v.toFixed(1)} MB`);
const tokens = (value) => Math.ceil(JSON.stringify(value).length / 4);
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const meets = (ok) => (ok ? 'met' : 'NOT met');

async function rssMb(pid) {
  return readFile(`/proc/${pid}/status`, 'utf8')
    .then((s) => Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1]) / 1024)
    .catch(() => undefined);
}

const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
};

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'bench', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const DISCOVER = { jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: MODERN_META } };

/**
 * Spawns a server and talks to it as a client does: `initialize` written at once, then `notifications/initialized`
 * and `tools/list`; or, `modern`, as a 2026-07-28 client does: `server/discover`, then `tools/list`, each with its
 * `_meta`. Times spawn -> each answer; with `idle`, also the RSS one second after tools/list.
 */
function coldStart(args, env, { idle = false, modern = false } = {}) {
  return new Promise((done, fail) => {
    const t0 = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const result = {};
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', fail);
    child.stderr.setEncoding('utf8').on('data', (s) => (stderr += s));
    child.on('close', () => {
      clearTimeout(timer);
      if (result.list !== undefined) done(result);
      else fail(new Error(`${args.join(' ')} did not answer tools/list:\n${stderr}`));
    });
    const send = (m) => child.stdin.write(`${JSON.stringify(m)}\n`);
    child.stdout.setEncoding('utf8').on('data', async (chunk) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop();
      for (const line of lines) {
        const { id } = JSON.parse(line);
        if (id === 1) {
          result.init = elapsed();
          if (modern) send({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: MODERN_META } });
          else {
            send({ jsonrpc: '2.0', method: 'notifications/initialized' });
            send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
          }
        } else if (id === 2) {
          result.list = elapsed();
          if (idle) {
            await sleep(1_000);
            result.rss = await rssMb(child.pid);
          }
          child.stdin.end();
          // Our server exits when stdin ends; a bare SDK server does not.
          setTimeout(() => child.kill(), 500).unref();
        }
      }
    });
    send(modern ? DISCOVER : INITIALIZE);
  });
}

/** The reference: the smallest server the MCP SDK makes, one zod tool, bundled and minified like ours. */
async function bundleBareServer() {
  const entry = join(work, 'bare-server.mjs');
  await writeFile(
    entry,
    [
      `import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';`,
      `import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';`,
      `import * as z from 'zod';`,
      `const server = new McpServer({ name: 'bare', version: '1.0.0' });`,
      `server.registerTool('echo', { description: 'Echoes text.', inputSchema: { text: z.string() } },`,
      `  async ({ text }) => ({ content: [{ type: 'text', text }] }));`,
      `await server.connect(new StdioServerTransport());`,
    ].join('\n'),
  );
  const outfile = join(work, 'bare-server.bundle.mjs');
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    nodePaths: [join(root, 'node_modules')],
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  return outfile;
}

/** Emulators are TypeScript: bundle one on the fly, sharp left to load from this repository's node_modules. */
async function loadModule(file) {
  const outfile = join(work, `${file.replace(/\W+/g, '_')}.mjs`);
  const sharpUrl = import.meta.resolve('sharp');
  await build({
    entryPoints: [join(root, file)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'error',
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

/** Forwards to `target` and notes every request: when it arrived and what it was. */
async function countingProxy(target) {
  const seen = [];
  const server = createServer((req, res) => {
    seen.push({ at: Date.now(), method: req.method, path: req.url });
    const upstream = httpRequest(
      new URL(req.url, target),
      { method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    seen,
    close: () => new Promise((r) => server.close(r)),
  };
}

async function connect(args, env) {
  const transport = new StdioClientTransport({ command: process.execPath, args, env, stderr: 'pipe' });
  let log = '';
  transport.stderr?.on('data', (c) => (log += c));
  const client = new Client({ name: 'atelier-bench', version: '1.0.0' });
  await client.connect(transport);
  return { client, pid: transport.pid, log: () => log };
}

async function callTool(session, name, args) {
  const result = await session.client.callTool({ name, arguments: args }, undefined, { timeout: 180_000 });
  const text = result.content.find((c) => c.type === 'text')?.text ?? '';
  if (result.isError) throw new Error(`${name} failed: ${text}\n${session.log()}`);
  return text;
}

// ---------------------------------------------------------------------------------------------------------------

async function benchColdStart() {
  const bare = await bundleBareServer();
  const variants = {
    atelier: { args: [bin], env: userEnv },
    modern: { args: [bin], env: userEnv, modern: true },
    bare: { args: [bare], env: baseEnv },
  };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, { init: [], list: [] }]));
  note(`cold start: ${RUNS} runs each, alternating`);
  // One warm-up each (file cache), then interleaved so drift hits both alike.
  for (const v of Object.values(variants)) await coldStart(v.args, v.env, v);
  for (let i = 0; i < RUNS; i++) {
    for (const [name, v] of Object.entries(variants)) {
      const r = await coldStart(v.args, v.env, v);
      times[name].init.push(r.init);
      times[name].list.push(r.list);
    }
  }
  const rss = {};
  for (const [name, v] of Object.entries({ atelier: variants.atelier, bare: variants.bare })) {
    const samples = [];
    for (let i = 0; i < 3; i++) samples.push((await coldStart(v.args, v.env, { idle: true })).rss);
    rss[name] = samples.includes(undefined) ? undefined : stats(samples).median;
  }
  return { times, rss };
}

/**
 * The first tool call that makes an HTTP request pays for loading the HTTP client unless the warm-up has done it.
 * A model takes seconds to pick a tool, so "1 s after tools/list" is the usual case; "right after" the worst.
 */
async function benchFirstCall(pixelmuse) {
  const emulator = await pixelmuse.start(pixelmuse.mod, 1_000);
  const series = { first: [], later: [], second: [] };
  const timed = async (session, into) => {
    const t0 = performance.now();
    await callTool(session, 'list_models', {});
    series[into].push(performance.now() - t0);
  };
  for (let i = 0; i < (QUICK ? 3 : 7); i++) {
    for (const pause of [0, 1_000]) {
      const session = await connect([bin], { ...baseEnv, ...pixelmuse.env(pixelmuse.mod, emulator.url) });
      await session.client.listTools();
      await sleep(pause);
      await timed(session, pause ? 'later' : 'first');
      if (pause) await timed(session, 'second');
      await session.client.close();
    }
  }
  await emulator.close();
  return { first: stats(series.first), later: stats(series.later), second: stats(series.second) };
}

async function benchTokens() {
  const session = await connect([bin], userEnv);
  const { tools } = await session.client.listTools();
  await session.client.close();
  // The toolset of each tool, from `atelier-mcp tools` (the list itself does not carry it).
  const listing = await new Promise((done) => {
    const child = spawn(process.execPath, [bin, 'tools'], { env: userEnv });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (s) => (text += s));
    child.on('close', () => done(text));
  });
  const toolsetOf = new Map(
    listing
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((w) => w.length >= 2)
      .map(([name, toolset]) => [name, toolset]),
  );
  const perToolset = new Map();
  for (const t of tools) {
    const set = toolsetOf.get(t.name) ?? '?';
    perToolset.set(set, (perToolset.get(set) ?? 0) + tokens(t));
  }
  return {
    total: tokens({ tools }),
    count: tools.length,
    perTool: tools.map((t) => [t.name, tokens(t)]),
    perToolset: [...perToolset],
  };
}

/** A fresh bin, with a counting proxy and an emulator whose jobs take `seconds`, ready for one generation. */
async function jobBench(provider, seconds, i) {
  const emulator = await provider.start(provider.mod, seconds * 1000);
  const proxy = await countingProxy(emulator.url);
  const session = await connect([bin, '--output-dir', join(work, `jobs-${provider.name}-${seconds}-${i}`)], {
    ...baseEnv,
    ATELIER_HOME: join(work, `home-${provider.name}-${seconds}-${i}`),
    ...provider.env(provider.mod, proxy.url),
  });
  await session.client.listTools();
  return {
    async run() {
      await callTool(session, 'generate_image', {
        prompt: `bench ${seconds} s job ${i}`,
        ...provider.args,
        max_wait_seconds: seconds + 60,
      });
      const resultAt = Date.now();
      const create = proxy.seen.find((r) => r.method === 'POST');
      if (!create) throw new Error(`${provider.name}: no POST reached the emulator`);
      // The emulator finishes a job `seconds` after it receives the create request.
      return { toResult: resultAt - (create.at + seconds * 1000), requests: proxy.seen.length };
    },
    async close() {
      await session.client.close();
      await proxy.close();
      await emulator.close();
    },
  };
}

async function benchJobs() {
  const rows = [];
  for (const provider of PROVIDERS) {
    note(`${provider.name}: ${JOB_SECONDS.join(', ')} s jobs x ${JOB_REPEATS}, in parallel`);
    const plan = JOB_SECONDS.flatMap((s) => Array.from({ length: JOB_REPEATS }, (_, i) => [s, i]));
    // Every bin is up (and idle, as while a model picks a tool) before the first job starts; the jobs then start
    // JOB_STAGGER_MS apart, so that no job finishes while another finishes or starts (a fresh bin's first call
    // and the emulator drawing its image): a job of whole seconds started at k x 4/3 s ends half-way between
    // two starts.
    const benches = [];
    for (const [s, i] of plan) benches.push(await jobBench(provider, s, i));
    await sleep(1_000);
    const runs = await Promise.all(benches.map((b, k) => sleep(k * JOB_STAGGER_MS).then(() => b.run())));
    await Promise.all(benches.map((b) => b.close()));
    JOB_SECONDS.forEach((seconds, k) => {
      const mine = runs.slice(k * JOB_REPEATS, (k + 1) * JOB_REPEATS);
      rows.push({
        provider: provider.name,
        seconds,
        toResult: stats(mine.map((r) => r.toResult)),
        requests: stats(mine.map((r) => r.requests)).median,
      });
    });
  }
  return rows;
}

/**
 * RSS of one server process over many generations, 4 at a time, after a warm-up of that same load. Going from
 * one generation at a time to four raises the working set once (more threads with their own malloc arenas,
 * more image buffers in flight setting the main malloc heap's high-water mark, V8's young generation growing
 * to its cap): measured, it settles within ~100 generations and then stays flat (+7 MB over the next 550).
 * The goal watches what keeps growing with the number of generations; the RSS after the sequential start is
 * printed too, so the one-time step stays visible.
 */
async function benchMemory(pixelmuse) {
  const emulator = await pixelmuse.mod.startPixelmuseEmulator({ rateLimitPerMinute: 1e6, credits: 1e6 });
  const session = await connect([bin, '--output-dir', join(work, 'memory')], {
    ...baseEnv,
    ATELIER_HOME: join(work, 'home-memory'),
    ...pixelmuse.env(pixelmuse.mod, emulator.url),
  });
  // A sync model: the job time is the render, so the loop measures our side, not waiting.
  const generate = (i) => callTool(session, 'generate_image', { prompt: `memory ${i}`, model: 'imagen-3' });
  const fourAtATime = async (from, count) => {
    for (let i = from; i < from + count; i += 4) await Promise.all([0, 1, 2, 3].map((k) => generate(i + k)));
  };
  const settled = () => sleep(1_000).then(() => rssMb(session.pid));
  for (let i = 0; i < MEMORY_SEQUENTIAL; i++) await generate(i);
  const sequential = await settled();
  await fourAtATime(MEMORY_SEQUENTIAL, MEMORY_WARM);
  const before = await settled();
  note(`memory: ${GENERATIONS} generations`);
  await fourAtATime(MEMORY_SEQUENTIAL + MEMORY_WARM, GENERATIONS);
  const after = await settled();
  await session.client.close();
  await emulator.close();
  return { sequential, before, after };
}

async function benchRender() {
  const { renderImage } = await loadModule('src/sandbox/render.ts');
  await renderImage({ prompt: 'warm-up', model: 'imagen-3', aspectRatio: '1:1' });
  const times = [];
  for (let i = 0; i < (QUICK ? 5 : 15); i++) {
    const t0 = performance.now();
    await renderImage({ prompt: `speed ${i}`, model: 'imagen-3', aspectRatio: '1:1' });
    times.push(performance.now() - t0);
  }
  return stats(times);
}

// ---------------------------------------------------------------------------------------------------------------

/** Each section measures and returns its table rows: [measure, atelier-mcp, reference, ratio, goal]. */
const SECTIONS = {
  async cold() {
    const cold = await benchColdStart();
    const t = cold.times;
    const of = (v) => ({ init: stats(v.init), list: stats(v.list) });
    const b = of(t.bare);
    const timed = (label, k, a = of(t.atelier)) => {
      const ratio = a[k].median / b[k].median;
      return [
        label,
        `${ms(a[k].median)} (p90 ${ms(a[k].p90)})`,
        `${ms(b[k].median)} (p90 ${ms(b[k].p90)})`,
        ratio.toFixed(2),
        `ratio ≤ 0.90: ${meets(ratio <= 0.9)}`,
      ];
    };
    const { atelier, bare } = cold.rss;
    return [
      timed('spawn → initialize answer (2025-11-25)', 'init'),
      timed('spawn → tools/list answer (2025-11-25)', 'list'),
      timed('spawn → server/discover answer (2026-07-28; reference: initialize)', 'init', of(t.modern)),
      timed('spawn → tools/list answer (2026-07-28)', 'list', of(t.modern)),
      [
        'idle RSS after tools/list',
        mb(atelier),
        mb(bare),
        atelier && bare ? (atelier / bare).toFixed(2) : '',
        '',
      ],
    ];
  },
  async first() {
    const f = await benchFirstCall(PROVIDERS.find((p) => p.name === 'pixelmuse'));
    const cell = (s) => `${ms(s.median)} (p90 ${ms(s.p90)})`;
    return [
      [
        'first call with HTTP (list_models), 1 s after tools/list',
        cell(f.later),
        `2nd call: ${cell(f.second)}`,
        '',
        'no visible penalty',
      ],
      ['first call with HTTP, right after tools/list', cell(f.first), '', '', ''],
    ];
  },
  async tokens() {
    const list = await benchTokens();
    return [
      [
        `tools/list tokens, ${list.count} tools`,
        String(list.total),
        '',
        '',
        `≤ 6,000 with ~30 tools: ${meets(list.total <= 6000)}`,
      ],
      ...list.perToolset.map(([set, n]) => [`  toolset ${set}`, String(n), '', '', '']),
      ...list.perTool.map(([name, n]) => [
        `  ${name}`,
        String(n),
        '',
        '',
        `≤ ${TOOL_BUDGET[name] ?? TOOL_BUDGET.other}`,
      ]),
    ];
  },
  async jobs() {
    return (await benchJobs()).map((j) => {
      const goal = Math.max(500, j.seconds * 100);
      // One model for both figures of the fixed poller: its polls fall at a random phase to the job, which is
      // what makes it see a job 1 s late on average; over a job of T s it then polls T/2 times on average while
      // the job runs, plus the poll that sees it done.
      const pollRequests = 1 + j.seconds / FIXED_POLL_S + 1;
      return [
        `${j.provider} ${j.seconds} s job: completion → result; API requests`,
        `${sec(j.toResult.median)} (p90 ${sec(j.toResult.p90)}); ${j.requests}`,
        `fixed ${FIXED_POLL_S} s poll: ~1.00 s avg (0–2 s); ${pollRequests}`,
        '',
        `≤ ${sec(goal)} and < ${pollRequests} requests: ${meets(j.toResult.median <= goal && j.requests < pollRequests)}`,
      ];
    });
  },
  async memory() {
    const m = await benchMemory(PROVIDERS.find((p) => p.name === 'pixelmuse'));
    const growth = m.after !== undefined && m.before !== undefined ? m.after - m.before : undefined;
    const total = m.after !== undefined && m.sequential !== undefined ? m.after - m.sequential : undefined;
    return [
      [
        `RSS over ${GENERATIONS} sandbox generations, 4 at a time`,
        `${mb(m.before)} → ${mb(m.after)} (${mb(m.sequential)} after ${MEMORY_SEQUENTIAL} one at a time, then ${MEMORY_WARM} 4 at a time before these)`,
        '',
        '',
        `growth ≤ 20 MB: ${growth === undefined ? 'n/a' : `${growth.toFixed(1)} MB, ${meets(growth <= 20)}`}`,
      ],
      [
        // The same run counted from the start, so that the warm-up hides nothing: the step to four at a time.
        `same process, from generation ${MEMORY_SEQUENTIAL} to the end`,
        `${mb(m.sequential)} → ${mb(m.after)}`,
        '',
        '',
        `growth: ${total === undefined ? 'n/a' : `${total.toFixed(1)} MB (working set of 4 at a time, paid once)`}`,
      ],
    ];
  },
  async render() {
    const r = await benchRender();
    return [
      [
        'sandbox PNG render, 1024×1024',
        `${ms(r.median)} (p90 ${ms(r.p90)})`,
        '',
        '',
        `< 500 ms: ${meets(r.median < 500)}`,
      ],
    ];
  },
};

/** The per-tool budgets of test/context-budget.test.ts, printed beside each tool. */
const TOOL_BUDGET = { generate_image: 700, get_generation: 350, other: 250 };

try {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'));
  for (const p of PROVIDERS) p.mod = await loadModule(p.module);
  const onlyFlag = argv.indexOf('--only');
  const only = onlyFlag >= 0 ? argv[onlyFlag + 1].split(',') : Object.keys(SECTIONS);
  const rows = [];
  for (const name of only) {
    if (!SECTIONS[name]) throw new Error(`--only: no section ${name} (${Object.keys(SECTIONS).join(', ')})`);
    note(name);
    rows.push(...(await SECTIONS[name]()));
  }

  const cpu = cpus();
  out(
    `atelier-mcp ${pkg.version} bench, ${new Date().toISOString().slice(0, 16)}Z, Node ${process.version} ` +
      `${process.platform}/${process.arch}, ${cpu.length} × ${cpu[0]?.model.trim() ?? 'cpu'}, ` +
      `NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'not set'}, ${RUNS} cold starts each` +
      `${QUICK ? ' (--quick)' : ''}`,
  );
  out();
  const header = [
    'measure',
    'atelier-mcp',
    'bare SDK server (1 tool, bundled + minified) / reference',
    'ratio',
    'goal',
  ];
  out(`| ${header.join(' | ')} |`);
  out(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) out(`| ${r.join(' | ')} |`);
  out();
  out(
    `Fixed ${FIXED_POLL_S} s poll: a poller that asks every ${FIXED_POLL_S} s, at a random phase to the job, sees it ` +
      `on average 1 s after it completes and sends, on average, 1 create + job/${FIXED_POLL_S} polls while it runs + ` +
      `the poll that sees it done. Job rows: one fresh bin per job (so its first ` +
      `generation, sharp included), ${JOB_REPEATS} of each length, all bins up before the first job, jobs started 4/3 s ` +
      `apart (each ends half-way between two starts); the emulators draw the image while the job runs, as a real provider has it on its CDN at completion ` +
      `(their drawing speed is the render row), so the result includes the download but not the drawing; API requests ` +
      `counted by a proxy in front of the emulator (image downloads go to the emulator's CDN URL and are not counted ` +
      `on either side).`,
  );
} finally {
  await rm(work, { recursive: true, force: true });
}
