import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CARD_FIELDS, emailField, CURRENT_PASSWORD, readCard } from '../../src/entry/forms.js';
import {
  PageInputError,
  openOneTimePage,
  type OneTimePage,
  type OneTimePageSpec,
} from '../../src/entry/server.js';
import { silentLogger } from '../../src/log.js';
import { launchBrowser, type Browser } from '../helpers/browser.js';
import { openPage, submitPage } from '../helpers/page-client.js';

// The one-time page itself, in Debian's Chromium: what it says, the autocomplete tokens, the answers it refuses
// (another Host, another origin, no CSRF token, a second browser, after its outcome, after it expired), and that
// it works without JavaScript. The tools' use of it is in test/tools/secret-pages.test.ts and, over the built bin,
// test/e2e/secret-pages.test.ts.

let browser: Browser;
/** Two profiles shared by the tests (cookies are per page path, so pages do not meet); more only where needed. */
let withJs: BrowserContext;
let withoutJs: BrowserContext;
beforeAll(async () => {
  browser = await launchBrowser();
  [withJs, withoutJs] = await Promise.all([browser.context(), browser.context({ javaScriptEnabled: false })]);
});
afterAll(async () => browser?.close());

const pages: OneTimePage[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.close()));
  for (const s of servers.splice(0)) s.close();
});

const submitted: Array<Record<string, string>> = [];

async function open(overrides: Partial<OneTimePageSpec> = {}): Promise<OneTimePage> {
  const page = await openOneTimePage({
    text: {
      title: 'Add a card to ModelsLab',
      provider: 'ModelsLab',
      account: 'ada@example.com',
      amount: '$0.00 now',
      purpose: 'Saves a card for later top-ups.',
      submit: 'Save card',
    },
    fields: CARD_FIELDS,
    async accept(values) {
      submitted.push(values);
      const card = readCard(values);
      if (card.number === '4000000000000002') throw new Error('Your card was declined.');
      return {
        result: `saved •••• ${card.number.slice(-4)}`,
        page: `Saved Visa •••• ${card.number.slice(-4)}.`,
      };
    },
    describeError: (error) => (error instanceof Error ? error.message : String(error)),
    log: silentLogger,
    ...overrides,
  });
  pages.push(page);
  return page;
}

async function fillCard(tab: Page, number: string): Promise<void> {
  await tab.fill('input[autocomplete="cc-number"]', number);
  await tab.fill('input[autocomplete="cc-exp"]', '12 / 34');
  await tab.fill('input[autocomplete="cc-csc"]', '731');
}

/** An HTTP request with any Host header, as a DNS-rebinding page would make one. */
function rawRequest(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Another site on this computer (another port is another origin) serving `html`. */
async function otherOrigin(html: string): Promise<string> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(html);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

describe('the one-time page in Chromium', () => {
  it('says what it is for, carries the autocomplete tokens, works without JavaScript and saves the card', async () => {
    const page = await open();
    const tab = await withoutJs.newPage();
    const response = await tab.goto(page.url);
    const headers = response!.headers();
    expect(headers['content-security-policy']).toMatch(
      /^default-src 'none'; style-src 'sha256-[\w+/=]+'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'$/,
    );
    expect(headers).toMatchObject({
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'x-content-type-options': 'nosniff',
    });
    const html = await response!.text();
    expect(html).not.toMatch(/<script|<img|<link|https?:\/\/(?!127\.0\.0\.1)/i);
    expect(Buffer.byteLength(html)).toBeLessThan(5_000);
    const text = await tab.locator('main').innerText();
    for (const fact of [
      'Add a card to ModelsLab',
      'ModelsLab',
      'ada@example.com',
      '$0.00 now',
      'Saves a card',
    ]) {
      expect(text).toContain(fact);
    }
    expect(await tab.locator('input[autocomplete="cc-number"]').count()).toBe(1);
    expect(await tab.locator('input[autocomplete="cc-exp"]').count()).toBe(1);
    expect(await tab.locator('input[autocomplete="cc-csc"]').count()).toBe(1);
    expect(await tab.locator('button[type="submit"]').allInnerTexts()).toEqual(['Save card', 'Cancel']);

    await fillCard(tab, '4000 0000 0000 0002');
    await tab.click('button[value="submit"]');
    // The provider's error in place, the form again with nothing secret filled back in.
    expect(await tab.locator('[role="alert"]').innerText()).toBe('Your card was declined.');
    expect(await tab.inputValue('input[autocomplete="cc-number"]')).toBe('');
    expect(await tab.inputValue('input[autocomplete="cc-exp"]')).toBe('12 / 34');
    expect(await tab.content()).not.toContain('0000 0002');

    await fillCard(tab, '4242 4242 4242 4242');
    await tab.click('button[value="submit"]');
    expect(await tab.locator('main').innerText()).toContain('Saved Visa •••• 4242.');
    expect(await page.outcome).toEqual({ status: 'done', result: 'saved •••• 4242' });
    expect(submitted.at(-1)).toEqual({ cardnumber: '4242 4242 4242 4242', exp: '12 / 34', cvc: '731' });

    // The link works once: after its outcome it answers 410 in this browser too.
    const again = await tab.goto(page.url);
    expect(again!.status()).toBe(410);
    expect(await tab.locator('main').innerText()).toContain('This link has been used');
  });

  it('answers one browser only: a second one may neither open nor post, and after the outcome nobody may', async () => {
    const page = await open();
    const first = await withJs.newPage();
    expect((await first.goto(page.url))!.status()).toBe(200);
    const second = await (await browser.context()).newPage();
    const refused = await second.goto(page.url);
    expect(refused!.status()).toBe(409);
    expect(await second.locator('main').innerText()).toContain('already opened in another browser');
    // Nor may it post: it has neither the page's cookie nor its token.
    const other = await openPage(page.url);
    expect(other.status).toBe(409);
    expect((await submitPage(other, { cardnumber: '4242424242424242' })).status).toBe(403);
    await fillCard(first, '4242 4242 4242 4242');
    await first.click('button[value="submit"]');
    expect((await page.outcome).status).toBe('done');
    expect((await second.reload())!.status()).toBe(410);
  });

  it('refuses a request for another Host (DNS rebinding)', async () => {
    const page = await open();
    const { port } = new URL(page.url);
    for (const host of [
      `rebind.attacker.example:${port}`,
      `localhost:${port}`,
      '127.0.0.1',
      `127.0.0.1:${Number(port) + 1}`,
    ]) {
      expect(await rawRequest(page.url, host), host).toBe(421);
    }
    // Still unopened: the refused requests did not bind it to anyone.
    const tab = await withJs.newPage();
    expect((await tab.goto(page.url))!.status()).toBe(200);
  });

  it("refuses a POST from another origin, even one that knows the page's token, and a POST without the token", async () => {
    const page = await open();
    const context = withoutJs;
    const tab = await context.newPage();
    await tab.goto(page.url);
    const csrf = await tab.getAttribute('input[name="csrf"]', 'value');
    // The same browser (it holds the page's cookie), on another site that posts to the page.
    const evil = await otherOrigin(
      `<form method="post" action="${page.url}"><input name="csrf" value="${csrf}">` +
        '<input name="cardnumber" value="4242424242424242"><input name="exp" value="12/34">' +
        '<input name="cvc" value="123"><button type="submit" name="action" value="submit">Win</button></form>',
    );
    await tab.goto(evil);
    const answer = tab.waitForResponse(page.url);
    await tab.click('button');
    expect((await answer).status()).toBe(403);
    expect(await tab.locator('main').innerText()).toContain('This form can be sent only from its own page.');

    // Without the token (or with a wrong one), from a client that holds the cookie.
    const stranger = await openPage(page.url);
    expect(stranger.status).toBe(409); // the Chromium tab owns the page; fetch is another browser
    const [cookie] = await context.cookies(page.url);
    const owner = { ...stranger, cookie: `${cookie!.name}=${cookie!.value}`, csrf: csrf ?? undefined };
    expect((await submitPage(owner, { cardnumber: '4242424242424242' }, { csrf: null })).status).toBe(403);
    expect(
      (await submitPage(owner, { cardnumber: '4242424242424242' }, { csrf: 'x'.repeat(43) })).status,
    ).toBe(403);
    expect(submitted.filter((s) => s.cvc === '123')).toEqual([]);
    // Nothing ended the page: its own form still works.
    await tab.goto(page.url);
    await fillCard(tab, '4242 4242 4242 4242');
    await tab.click('button[value="submit"]');
    expect((await page.outcome).status).toBe('done');
  });

  it('cannot be framed by another site', async () => {
    const page = await open();
    const tab = await withJs.newPage();
    await tab.goto(await otherOrigin(`<iframe src="${page.url}" width="600" height="400"></iframe>`));
    await tab.waitForTimeout(500);
    const framed = tab.frames().find((f) => f !== tab.mainFrame());
    expect(await framed!.locator('input[autocomplete="cc-number"]').count()).toBe(0);
  });

  it('expires: after its time the link is refused and nothing was submitted', async () => {
    const tab = await withJs.newPage();
    const page = await open({ ttlMs: 3_000 });
    expect((await tab.goto(page.url))!.status()).toBe(200);
    expect(await page.outcome).toEqual({ status: 'expired' });
    await fillCard(tab, '4242 4242 4242 4242');
    await tab.click('button[value="submit"]');
    expect(await tab.locator('main').innerText()).toContain('This link has expired');
    expect((await tab.reload())!.status()).toBe(410);
  });

  it('lets the human cancel: nothing is submitted and the link is done', async () => {
    const page = await open();
    const tab = await withJs.newPage();
    await tab.goto(page.url);
    await tab.fill('input[autocomplete="cc-number"]', '4242 4242 4242 4242');
    await tab.click('button[value="cancel"]');
    expect(await tab.locator('main').innerText()).toContain('Nothing was stored');
    expect(await page.outcome).toEqual({ status: 'cancelled' });
    expect((await tab.goto(page.url))!.status()).toBe(410);
  });

  it('names the fields password managers fill on a login page', async () => {
    const page = await open({
      fields: [emailField('ada@example.com'), CURRENT_PASSWORD],
      accept: async () => {
        throw new PageInputError('unused');
      },
    });
    const tab = await withJs.newPage();
    await tab.goto(page.url);
    expect(await tab.inputValue('input[autocomplete="email"]')).toBe('ada@example.com');
    expect(await tab.getAttribute('input[autocomplete="current-password"]', 'type')).toBe('password');
  });
});
