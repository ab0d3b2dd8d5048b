// `npm run demo`: drives the built bin in --sandbox mode over stdio with the MCP SDK client, the way
// Claude Code or Cursor would, and prints what an agent would see at each step. Exits 1 if any step fails.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const outputDir = fileURLToPath(new URL('../generated/demo', import.meta.url));
const MAX_LINES = 8;
const MAX_WIDTH = 116;

const out = (line = '') => process.stdout.write(`${line}\n`);
// Piped into `head` and closed early: stop quietly instead of crashing on EPIPE.
process.stdout.on('error', (error) => process.exit(error.code === 'EPIPE' ? 0 : 1));
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const shown = (path) => (path.startsWith(root) ? relative(process.cwd(), path) || path : path);

if (!existsSync(bin)) {
  out(`dist/cli.js is missing. Build it first: npm run build (npm run demo does it for you).`);
  process.exit(1);
}

const TRAIN_ARGS = { instance_prompt: 'an illustration in zxq style', class_prompt: 'an illustration' };
const MPP_ARGS = { prompt: 'a paper crane, studio light', model: 'flux-schnell', payment: 'mpp' };
// The human's side of the one-time pages: what they type, by field (an autocomplete token, or #id).
const DEMO_PASSWORD = 'demo-password-123';
const CHROMIUM = '/usr/bin/chromium';

const STEPS = [
  // ModelsLab from nothing, headless: an account, the emailed code, and the account configured.
  {
    tool: 'modelslab_signup',
    note: 'a new ModelsLab account; the password is typed into a one-time local page (the sandbox shows the code it would email)',
    args: { email: 'demo@atelier.test', name: 'Demo' },
    page: { '#password': DEMO_PASSWORD, '#password_repeat': DEMO_PASSWORD },
    capture: (text) => ({ code: /verification code is (\S+)/.exec(text)?.[1] }),
  },
  {
    tool: 'modelslab_verify_email',
    note: 'headless verification: stores the access token and API key',
    args: (memo) => ({ verification_code: memo.code }),
  },
  {
    tool: 'account_status',
    note: 'ModelsLab configured (token, its expiry, key, wallet); the Pixelmuse key and balance',
    args: {},
  },
  { tool: 'list_models', note: 'which models exist and what they cost', args: {} },
  { tool: 'get_pricing', note: 'prices in credits and USD, credit packs', args: {} },
  {
    tool: 'generate_image',
    note: 'sync model: the image comes back in the first answer',
    args: { prompt: 'a lighthouse on a cliff at dusk, watercolor', model: 'imagen-3', aspect_ratio: '16:9' },
  },
  {
    tool: 'generate_image',
    note: 'async model (about 6 s in the sandbox): waits for the job, reporting progress',
    args: {
      prompt: 'isometric city block at night, neon signs',
      model: 'recraft-v4-pro',
      aspect_ratio: '1:1',
    },
    progress: true,
  },
  { tool: 'pixelmuse_list_images', note: 'the history, newest first', args: { limit: 5 } },
  // Pixelmuse with no account: one image paid per image with MPP (a Shared Payment Token), after approval.
  {
    tool: 'generate_image',
    note: 'pay per image with MPP, no account: the first call only quotes the price',
    args: MPP_ARGS,
    capture: (text) => ({ mppToken: /^confirmation_token: (\S+)$/m.exec(text)?.[1] }),
  },
  {
    tool: 'generate_image',
    note: 'the human approved: the same call with the token mints an SPT for exactly the price and pays',
    args: (memo) => ({ ...MPP_ARGS, confirmation_token: memo.mppToken }),
  },
  // Then money on the ModelsLab wallet, with the human's approval.
  {
    tool: 'modelslab_add_payment_method',
    note: "Stripe's test card, typed into a one-time local page and tokenized with Stripe: the agent sees brand and last 4",
    args: {},
    page: { 'cc-number': '4242 4242 4242 4242', 'cc-exp': '12 / 34', 'cc-csc': '123' },
  },
  {
    tool: 'modelslab_fund_wallet',
    note: 'first call: a quote for the human, nothing charged',
    args: { amount_usd: 25 },
    capture: (text) => ({ token: /^confirmation_token: (\S+)$/m.exec(text)?.[1] }),
  },
  {
    tool: 'modelslab_fund_wallet',
    note: 'the human approved $25: the same call with the token charges, once',
    args: (memo) => ({ amount_usd: 25, confirmation_token: memo.token }),
  },
  { tool: 'modelslab_wallet', note: 'the new balance and the top-up', args: { limit: 3 } },
  {
    tool: 'generate_image',
    note: 'ModelsLab imagen-4 (v7 API, about 6 s in the sandbox): waits per eta with progress, paid from the wallet',
    args: {
      provider: 'modelslab',
      model: 'imagen-4',
      prompt: 'a paper boat on a rainy street, cinematic',
      aspect_ratio: '16:9',
    },
    progress: true,
  },
  // A LoRA trained on the images made so far (files in the project), then used: the sandbox trains in seconds.
  {
    tool: 'modelslab_train_lora',
    note: 'a style from the images saved above: checked and counted locally; the first call only quotes $1',
    args: () => ({ images: saved.slice(0, 4), ...TRAIN_ARGS }),
    capture: (text) => ({ trainToken: /^confirmation_token: (\S+)$/m.exec(text)?.[1] }),
  },
  {
    tool: 'modelslab_train_lora',
    note: 'the human approved: uploads the images (base64_crop), then starts the $1 training; its id comes back at once',
    args: (memo) => ({ images: saved.slice(0, 4), ...TRAIN_ARGS, confirmation_token: memo.trainToken }),
    capture: (text) => ({ trainingId: /^Training (\w+) started/m.exec(text)?.[1] }),
  },
  {
    tool: 'modelslab_training',
    note: 'follows every status to model_ready with progress (minutes upstream, about 9 s in the sandbox)',
    args: (memo) => ({ action: 'status', training_id: memo.trainingId, max_wait_seconds: 60 }),
    progress: true,
  },
  {
    tool: 'generate_image',
    note: 'generates with the trained LoRA: its id as the model (sdxl with lora_model)',
    args: (memo) => ({
      provider: 'modelslab',
      model: memo.trainingId,
      prompt: 'a zxq style lighthouse at dawn',
    }),
    progress: true,
  },
  { tool: 'spend_report', note: 'the local ledger of what was charged, against the caps', args: {} },
];
// Values later steps need from earlier results (a verification code, a confirmation token).
const memo = {};

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [bin, '--sandbox', '--output-dir', outputDir],
  // The sandbox needs no key: pass none, so a real one in this shell cannot be used by accident.
  env: { ATELIER_LOG_LEVEL: 'info' },
  stderr: 'pipe',
});
let serverLog = '';
transport.stderr?.on('data', (chunk) => (serverLog += chunk.toString('utf8')));

/** At most MAX_LINES lines of at most MAX_WIDTH characters, indented; blank lines dropped. */
function indent(text, maxLines = MAX_LINES, prefix = '    ') {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const kept = lines
    .slice(0, maxLines)
    .map((l) => (l.length > MAX_WIDTH ? `${l.slice(0, MAX_WIDTH - 1)}…` : l));
  if (lines.length > maxLines) kept.push(`… ${lines.length - maxLines} more line(s)`);
  return kept.map((l) => `${prefix}${l}`).join('\n');
}

function wrap(words, width = MAX_WIDTH) {
  const lines = [''];
  for (const word of words) {
    const last = lines.length - 1;
    if (lines[last] && lines[last].length + word.length + 1 > width) lines.push(word);
    else lines[last] = lines[last] ? `${lines[last]} ${word}` : word;
  }
  return lines.join('\n');
}

function fail(message) {
  out();
  out(`FAILED: ${message}`);
  if (serverLog.trim()) {
    out('Server log (stderr):');
    out(indent(serverLog.trim().split('\n').slice(-30).join('\n'), 30));
  }
  process.exitCode = 1;
}

// The client declares URL elicitation, as Claude Code does: a tool that needs a card or a password asks it to
// open a one-time page on 127.0.0.1, and the demo's human (headless Chromium) fills it in.
const client = new Client(
  { name: 'atelier-demo', version: '1.0.0' },
  { capabilities: { elicitation: { url: {} } } },
);
let browser;
let profile;
let typing = Promise.resolve();
let pageFields;
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  const { url, message } = request.params;
  out(`    <- elicitation/create (url): ${message.length > 90 ? `${message.slice(0, 89)}…` : message}`);
  out(`       ${url.replace(/\/e\/.*/, '/e/…')} (one-time link)`);
  typing = fillPage(url, pageFields ?? {});
  return { action: 'accept' };
});

/** The human: opens the page in headless Chromium, types into it, submits, and says what the page answered. */
async function fillPage(url, fields) {
  if (!browser) {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
    const { chromium } = await import('playwright-core');
    profile = await mkdtemp(join(tmpdir(), 'atelier-demo-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }
  const tab = await browser.newPage();
  await tab.goto(url);
  const title = await tab.locator('h1').innerText();
  for (const [field, value] of Object.entries(fields)) {
    await tab.fill(field.startsWith('#') ? `input${field}` : `input[autocomplete="${field}"]`, value);
  }
  await tab.click('button[value="submit"]');
  const said = (await tab.locator('main p').first().innerText()).split('\n')[0];
  out(`    browser: "${title}", typed ${Object.keys(fields).join(', ')}; the page said: ${said}`);
  await tab.close();
}

const started = Date.now();
const saved = [];
let passed = 0;

out(
  'atelier-mcp demo: the built bin in --sandbox mode (built-in Pixelmuse, ModelsLab and Stripe emulators: no key, ' +
    'no network, no real charges).',
);
out(`Images are saved under ${shown(outputDir)}/`);
out();

try {
  await client.connect(transport);
  const { tools } = await client.listTools();
  const server = client.getServerVersion();
  out(
    `Connected to ${server?.name} ${server?.version} over stdio in ${seconds(Date.now() - started)}; ${tools.length} tools:`,
  );
  out(indent(wrap(tools.map((t, i) => (i < tools.length - 1 ? `${t.name},` : t.name)))));

  for (const [i, step] of STEPS.entries()) {
    out();
    out(`${i + 1}/${STEPS.length} ${step.tool} (${step.note})`);
    const args = typeof step.args === 'function' ? step.args(memo) : step.args;
    // A card number is never printed, even Stripe's public test one: that is the habit the demo shows.
    const shownArgs = {
      ...args,
      ...(args.card ? { card: { ...args.card, number: '•••• 4242', cvc: '•••' } } : {}),
      ...(args.password ? { password: '•••' } : {}),
    };
    if (Object.keys(args).length) out(`    arguments: ${JSON.stringify(shownArgs)}`);
    pageFields = step.page;
    const stepStarted = Date.now();
    const options = step.progress
      ? {
          // Long jobs: each progress notification restarts the client's timeout (Claude Code does the same).
          resetTimeoutOnProgress: true,
          timeout: 60_000,
          onprogress: ({ progress, message }) =>
            out(
              `    <- progress ${progress} at +${seconds(Date.now() - stepStarted)}: ${message ?? '(no message)'}`,
            ),
        }
      : { timeout: 60_000 };
    const result = await client.callTool({ name: step.tool, arguments: args }, undefined, options);
    await typing;
    const text = result.content
      .filter((c) => c.type === 'text')
      .map((c) => c.text)
      .join('\n');
    const images = result.content.filter((c) => c.type === 'image');
    out(indent(text));
    if (images.length)
      out(`    + ${images.length} inline preview image(s) (${images.map((c) => c.mimeType).join(', ')})`);
    const paths = [...text.matchAll(/^- (\/\S+) \(/gm)].map((m) => m[1]);
    for (const p of paths) out(`    saved: ${shown(p)}`);
    saved.push(...paths);
    out(`    ${result.isError ? 'isError' : 'ok'} in ${seconds(Date.now() - stepStarted)}`);
    if (result.isError) {
      fail(`${step.tool} returned isError (see its text above).`);
      break;
    }
    Object.assign(memo, step.capture?.(text));
    passed += 1;
  }
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
} finally {
  await client.close().catch(() => {});
  await browser?.close().catch(() => {});
  if (profile) await rm(profile, { recursive: true, force: true });
}

out();
out(
  `Summary: ${passed}/${STEPS.length} steps ok in ${seconds(Date.now() - started)}; ${saved.length} image(s) saved${saved.length ? ':' : '.'}`,
);
for (const p of saved) out(`  - ${shown(p)}`);
if (passed === STEPS.length) {
  out();
  // The demo runs from a clone: the command that works here, then the one for the package from npm.
  out(`Try it in Claude Code: claude mcp add atelier-sandbox -- node ${bin} --sandbox`);
  out('  (with the package from npm: claude mcp add atelier-sandbox -- npx -y atelier-mcp --sandbox)');
  out(
    `Real images: set PIXELMUSE_API_KEY (or run \`node ${relative(process.cwd(), bin) || bin} login pixelmuse\`) ` +
      'and drop --sandbox.',
  );
}
