import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { secretPart } from '../../src/redact.js';
import {
  startModelslabEmulator,
  startPixelmuseEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type PixelmuseEmulator,
  type StripeEmulator,
} from '../../src/sandbox/index.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { textOf } from '../helpers/harness.js';
import { openPage, submitPage } from '../helpers/page-client.js';
import { BIN, cleanEnv, connectBin, requireBuiltBin, type BinSession } from '../helpers/spawn.js';

// The one-time secret pages as a human meets them: the built bin over stdio, an MCP client that declares URL
// elicitation (as Claude Code 2.1.332 does), Debian's Chromium filling each page, emulators of ModelsLab, Stripe and
// Pixelmuse behind the bin, and a file credential store. Every JSON-RPC message, every stderr line and every file
// the server wrote outside the credential store is searched for every secret typed, 8 characters at a time.

let browser: Browser;
let tabs: BrowserContext;
let stripe: StripeEmulator;
let modelslab: ModelslabEmulator;
let pixelmuse: PixelmuseEmulator;
const PIXELMUSE_KEY = `pm_test_${randomBytes(16).toString('hex')}`;
const dirs: string[] = [];
const sessions: BinSession[] = [];
const servers: Server[] = [];

beforeAll(async () => {
  requireBuiltBin();
  browser = await launchBrowser();
  tabs = await browser.context();
  stripe = await startStripeEmulator();
  [modelslab, pixelmuse] = await Promise.all([
    startModelslabEmulator({ stripe }),
    startPixelmuseEmulator({ apiKeys: [PIXELMUSE_KEY] }),
  ]);
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  for (const s of servers.splice(0)) s.close();
});
afterAll(async () => {
  await browser?.close();
  await Promise.all([stripe?.close(), modelslab?.close(), pixelmuse?.close()]);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

interface Session {
  bin: BinSession;
  home: string;
  /** The next URL the server asked the client to open (URL-mode elicitation). */
  nextUrl(): Promise<{ url: string; message: string; elicitationId: string }>;
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
}

async function start(answer: 'accept' | 'decline' = 'accept'): Promise<Session> {
  const home = await mkdtemp(join(tmpdir(), 'atelier-pages-home-'));
  const out = await mkdtemp(join(tmpdir(), 'atelier-pages-out-'));
  dirs.push(home, out);
  const asked: Array<{ url: string; message: string; elicitationId: string }> = [];
  const waiting: Array<(a: (typeof asked)[number]) => void> = [];
  const bin = await connectBin({
    args: [BIN, '--output-dir', out],
    env: cleanEnv({
      MODELSLAB_BASE_URL: modelslab.url,
      STRIPE_API_BASE: stripe.url,
      PIXELMUSE_BASE_URL: pixelmuse.url,
      ATELIER_HOME: home,
      ATELIER_CREDENTIAL_STORE: 'file',
      ATELIER_LOG_LEVEL: 'debug',
    }),
    capabilities: { elicitation: { url: {} } },
    setup: (client) =>
      client.setRequestHandler(ElicitRequestSchema, (req) => {
        const params = req.params as { url: string; message: string; elicitationId: string };
        const w = waiting.shift();
        if (w) w(params);
        else asked.push(params);
        return { action: answer };
      }),
  });
  sessions.push(bin);
  return {
    bin,
    home,
    nextUrl: () =>
      new Promise((resolve) => {
        const a = asked.shift();
        if (a) resolve(a);
        else waiting.push(resolve);
      }),
    call: (name, args = {}) =>
      bin.client.callTool({ name, arguments: args }, undefined, {
        timeout: 120_000,
        onprogress: () => {},
      }) as Promise<CallToolResult>,
  };
}

/** Opens the page the server asked for, in Chromium. */
async function pageFor(session: Session): Promise<{ tab: Page; url: string; elicitationId: string }> {
  const { url, elicitationId } = await session.nextUrl();
  const tab = await tabs.newPage();
  const response = await tab.goto(url);
  expect(response!.status()).toBe(200);
  return { tab, url, elicitationId };
}

/** Fills the fields (by autocomplete token, or `#id`), submits, and returns what the page then says. */
async function submit(tab: Page, fields: Record<string, string>): Promise<string> {
  for (const [field, value] of Object.entries(fields)) {
    await tab.fill(field.startsWith('#') ? `input${field}` : `input[autocomplete="${field}"]`, value);
  }
  await tab.click('button[value="submit"]');
  return tab.locator('main').innerText();
}

/** Every file under `dir` but the credential store, as text. */
async function filesBesidesCredentials(dir: string): Promise<string> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = names.filter((d) => d.isFile() && d.name !== 'credentials.json');
  return (await Promise.all(files.map((d) => readFile(join(d.parentPath, d.name), 'utf8')))).join('\n');
}

function expectNoFragment(where: string, text: string, secret: string): void {
  const part = secretPart(secret);
  const left: string[] = [];
  for (let i = 0; i + 8 <= part.length; i++)
    if (text.includes(part.slice(i, i + 8))) left.push(part.slice(i, i + 8));
  expect(left, `${where} holds fragments of a secret`).toEqual([]);
}

const result = (r: CallToolResult) => ({ isError: r.isError ?? false, text: textOf(r) });

describe('secret pages over the built bin, in Chromium', () => {
  it(
    'signs up, logs in, adds a card and connects both API keys with every secret typed into a page',
    { timeout: 180_000 },
    async () => {
      const s = await start();
      const email = `ada-${randomBytes(4).toString('hex')}@atelier.test`;
      const password = `Pw-${randomBytes(12).toString('base64url')}`;
      const wrongPassword = `Wrong-${randomBytes(12).toString('base64url')}`;
      const card = '4242 4242 4242 4242';
      const wrongCard = '4242 4242 4242 4241';

      // Sign up: the email comes from the arguments and is shown; the two passwords must match.
      let call = s.call('modelslab_signup', { email, name: 'Ada' });
      let page = await pageFor(s);
      expect(await page.tab.inputValue('input[autocomplete="email"]')).toBe(email);
      expect(await page.tab.locator('input[autocomplete="new-password"]').count()).toBe(2);
      expect(await submit(page.tab, { '#password': password, '#password_repeat': `${password}!` })).toContain(
        'The two passwords differ; type them again.',
      );
      expect(await submit(page.tab, { '#password': password, '#password_repeat': password })).toContain(
        `Account created for ${email}.`,
      );
      expect((await call).isError).toBeFalsy();
      expect(textOf(await call)).toMatch(new RegExp(`^ModelsLab account created for ${email}`));

      const code = modelslab.accounts.byEmail(email)!.verificationCode!;
      expect(result(await s.call('modelslab_verify_email', { verification_code: code })).isError).toBe(false);

      // Log in: ModelsLab's refusal of a wrong password shows in place; then the right one.
      call = s.call('modelslab_login', { email });
      page = await pageFor(s);
      expect(await submit(page.tab, { 'current-password': wrongPassword })).toMatch(
        /ModelsLab refused the request: invalid_credentials \(HTTP 401/,
      );
      expect(await submit(page.tab, { 'current-password': password })).toContain(
        `Logged in to ModelsLab as ${email}.`,
      );
      const login = result(await call);
      expect(login.text).toMatch(
        new RegExp(`^Logged in to ModelsLab as ${email}\\.\\n- access token: stored in file `),
      );
      expect(login.text).toContain(
        'Before that, the page showed 1 error(s), the last: ModelsLab refused the request: invalid_credentials',
      );

      // A card: Stripe's refusal of a wrong number in place; then the card, to Stripe only.
      call = s.call('modelslab_add_payment_method', {});
      page = await pageFor(s);
      expect(await page.tab.locator('main').innerText()).toContain(`Account\n${email}`);
      expect(
        await submit(page.tab, { 'cc-number': wrongCard, 'cc-exp': '12 / 34', 'cc-csc': '731' }),
      ).toContain('The card number is incorrect.');
      expect(await submit(page.tab, { 'cc-number': card, 'cc-exp': '12 / 34', 'cc-csc': '731' })).toMatch(
        /Saved Visa •••• 4242 \(pm_\w+\)\. Nothing was charged\./,
      );
      expect((await call).isError).toBeFalsy();
      expect(textOf(await s.call('modelslab_payment_methods'))).toMatch(
        /^Saved cards \(1\):\n- Visa •••• 4242 \(pm_\w+\), expires 12\/2034 \(default\)$/,
      );

      // A ModelsLab API key, checked with ModelsLab.
      const user = modelslab.accounts.byEmail(email)!;
      const modelslabKey = modelslab.accounts.addApiKey(user, 'typed into the page').key;
      call = s.call('modelslab_login', { method: 'api_key' });
      page = await pageFor(s);
      expect(await page.tab.getAttribute('input#api_key', 'type')).toBe('password');
      expect(await submit(page.tab, { '#api_key': modelslabKey })).toContain('The key works and is stored.');
      expect(result(await call).text).toMatch(
        /^ModelsLab API key \w\w…\w{4} checked with ModelsLab and stored in file /,
      );

      // A Pixelmuse key: a wrong one is refused in place.
      const wrongKey = `pm_test_${randomBytes(16).toString('hex')}`;
      call = s.call('pixelmuse_login');
      page = await pageFor(s);
      expect(await submit(page.tab, { '#api_key': wrongKey })).toMatch(
        /Pixelmuse refused the request: authentication_error/,
      );
      expect(await submit(page.tab, { '#api_key': PIXELMUSE_KEY })).toContain('The key works and is stored.');
      expect(result(await call).text).toMatch(
        /^Pixelmuse key pm_test_\*\*\*…\w{4} checked with Pixelmuse and stored in file /,
      );

      // What was stored: in the credential store only.
      const stored = JSON.parse(await readFile(join(s.home, 'credentials.json'), 'utf8')) as Record<
        string,
        string
      >;
      const token = modelslab.accounts.tokens.filter((t) => t.userId === user.id).at(-1)!.value;
      expect(stored).toMatchObject({
        pixelmuse_api_key: PIXELMUSE_KEY,
        modelslab_api_key: modelslabKey,
        modelslab_token: token,
      });
      expect(
        stripe.cards.get(/\((pm_\w+)\)/.exec(textOf(await s.call('modelslab_payment_methods')))![1]!),
      ).toMatchObject({
        last4: '4242',
        exp_year: 2034,
      });

      // Nowhere else: not in a JSON-RPC message either way, not on stderr, not in any other file.
      await s.bin.close();
      const wire = JSON.stringify(s.bin.messages);
      const stderr = s.bin.stderr.join('\n');
      const files = await filesBesidesCredentials(s.home);
      expect(wire).toContain('notifications/elicitation/complete');
      expect(wire).toContain('notifications/progress');
      for (const secret of [
        password,
        wrongPassword,
        card.replace(/ /g, ''),
        wrongCard.replace(/ /g, ''),
        modelslabKey,
        PIXELMUSE_KEY,
        wrongKey,
        token,
      ]) {
        expectNoFragment('the JSON-RPC messages', wire, secret);
        expectNoFragment('stderr', stderr, secret);
        expectNoFragment('the files besides credentials.json', files, secret);
      }
      // The CVC is too short to search for alone (timings in the debug log hold 3-digit numbers): next to its name.
      const cvc = /4242 4242|(?:cvc|csc)\W{0,8}731\b/i;
      expect(wire).not.toMatch(cvc);
      expect(stderr).not.toMatch(cvc);
      expect(files).not.toMatch(cvc);
      // The server did log the pages' life, so the search above searched something.
      expect(stderr).toMatch(/secret page on port \d+: opened/);
    },
  );

  it(
    'refuses another Host, a POST from another origin, a POST without the CSRF token and a second browser; cancel stores nothing',
    { timeout: 120_000 },
    async () => {
      const s = await start();
      // The emulator's own account, logged in through its page first.
      const loggedIn = s.call('modelslab_login', { email: 'sandbox@atelier.test' });
      await submit((await pageFor(s)).tab, { 'current-password': 'sandbox-password' });
      expect((await loggedIn).isError).toBeFalsy();

      const call = s.call('modelslab_add_payment_method', {});
      const { tab, url } = await pageFor(s);
      const { port } = new URL(url);

      expect(await rawStatus(url, `rebind.attacker.example:${port}`)).toBe(421);

      const csrf = await tab.getAttribute('input[name="csrf"]', 'value');
      const evil = await otherOrigin(
        `<form method="post" action="${url}"><input name="csrf" value="${csrf}"><input name="cardnumber" value="4242424242424242">` +
          '<input name="exp" value="12/34"><input name="cvc" value="123"><button name="action" value="submit">Go</button></form>',
      );
      const attack = await tabs.newPage();
      await attack.goto(evil);
      const refused = attack.waitForResponse(url);
      await attack.click('button');
      expect((await refused).status()).toBe(403);

      const [cookie] = await tabs.cookies(url);
      const owner = { ...(await openPage(url)), cookie: `${cookie!.name}=${cookie!.value}` };
      expect(owner.status).toBe(409); // fetch without the cookie is another browser
      const noToken = await submitPage(
        owner,
        { cardnumber: '4242424242424242', exp: '12/34', cvc: '123' },
        { csrf: null },
      );
      expect(noToken.status).toBe(403);

      await tab.click('button[value="cancel"]');
      expect(await tab.locator('main').innerText()).toContain('Nothing was stored');
      const cancelled = result(await call);
      expect(cancelled.isError).toBe(true);
      expect(cancelled.text).toMatch(/^Nothing stored: The human cancelled the page for the card\.\nNext: /);
      expect((await tab.goto(url))!.status()).toBe(410);
      expect(stripe.requests.filter((r) => r.body && String(r.body).includes('card%5Bcvc%5D=123'))).toEqual(
        [],
      );
    },
  );

  it('ends with nothing stored when the human declines to open the page', { timeout: 60_000 }, async () => {
    const s = await start('decline');
    const declined = result(await s.call('pixelmuse_login'));
    expect(declined.isError).toBe(true);
    expect(declined.text).toMatch(
      /^Nothing stored: The human declined to open the page for the Pixelmuse API key\.\nNext: /,
    );
    await expect(readFile(join(s.home, 'credentials.json'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it(
    'refuses a card passed as an argument to a client that can open the page',
    { timeout: 60_000 },
    async () => {
      const s = await start();
      const before = stripe.requests.length;
      const refused = result(
        await s.call('modelslab_add_payment_method', {
          card: { number: '4000056655665556', exp_month: 12, exp_year: 2034, cvc: '737' },
        }),
      );
      expect(refused).toEqual({
        isError: true,
        text: expect.stringMatching(
          /^Invalid input: the card number was passed as an argument; it was not used\.\n/,
        ),
      });
      expect(stripe.requests.length).toBe(before);
      await s.bin.close();
      // The client sent it (that is the point of refusing it); the server never sent it back or logged it.
      const fromServer = JSON.stringify(
        s.bin.messages.filter(
          (m) =>
            !('method' in (m as object)) ||
            (m as { method: string }).method.startsWith('notifications/progress'),
        ),
      );
      expectNoFragment('the answers', fromServer, '4000056655665556');
      expectNoFragment('stderr', s.bin.stderr.join('\n'), '4000056655665556');
    },
  );
});

/** An HTTP request with any Host header, as a DNS-rebinding page would make one. */
function rawStatus(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function otherOrigin(html: string): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}
