import { randomBytes } from 'node:crypto';
import { ElicitRequestSchema, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { secretPart } from '../../src/redact.js';
import {
  SANDBOX_MODELSLAB_EMAIL,
  SANDBOX_MODELSLAB_TOKEN,
  SANDBOX_PIXELMUSE_KEY,
} from '../../src/sandbox/index.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';
import { linkIn, openPage, pageText, submitPage, type OpenedPage } from '../helpers/page-client.js';

// The one-time pages through the tools, with fetch playing the browser (test/e2e/secret-pages.test.ts drives the
// same pages in Chromium against the built bin). A client with `elicitation.url` gets the page opened for it and
// the call waits; one without gets the link in the result and a later call waits.

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

const CARD = { cardnumber: '4242 4242 4242 4242', exp: '12 / 34', cvc: '731' };

/** Every string the client received and the server logged, to search for secrets. */
const everything = (h: Harness) => JSON.stringify(h.received) + h.logs.join('\n');

/** No run of 8 characters of `secret` (past a public prefix such as pm_test_) anywhere in `text`. */
function expectAbsent(text: string, secret: string): void {
  const part = secretPart(secret);
  for (let i = 0; i + 8 <= part.length; i++) expect(text).not.toContain(part.slice(i, i + 8));
}

async function start(options: Parameters<typeof startHarness>[0] = {}) {
  const h = await startHarness(options);
  harnesses.push(h);
  return h;
}

/** A client that declares URL elicitation; `visit` plays the human who opens the page (or does not). */
async function withUrlElicitation(
  visit: (url: string) => Promise<ElicitResult['action']>,
  options: Parameters<typeof startHarness>[0] = {},
) {
  const h = await start({ ...options, capabilities: { elicitation: { url: {} } } });
  const asked: Array<{ url: string; message: string; elicitationId: string }> = [];
  h.client.setRequestHandler(ElicitRequestSchema, async (request) => {
    const params = request.params as { url: string; message: string; elicitationId: string; mode: string };
    expect(params.mode).toBe('url');
    asked.push(params);
    return { action: await visit(params.url) };
  });
  return { h, asked };
}

/** The human, in a browser: opens the page, submits `fields` (after `before` failed submissions). */
function human(fields: Record<string, string>, before: Array<Record<string, string>> = []) {
  const seen: Array<{ status: number; text: string }> = [];
  let finished: Promise<void> = Promise.resolve();
  const visit = async (url: string): Promise<'accept'> => {
    // The client answers at once; the human fills in the page afterwards.
    finished = (async () => {
      await new Promise((r) => setTimeout(r, 50));
      const page = await openPage(url);
      for (const wrong of before) {
        const r = await submitPage(page, wrong);
        seen.push({ status: r.status, text: pageText(r.html) });
      }
      const r = await submitPage(page, fields);
      seen.push({ status: r.status, text: pageText(r.html) });
    })();
    return 'accept';
  };
  return { visit, seen, finished: () => finished };
}

describe('modelslab_add_payment_method through the page', () => {
  it('with URL elicitation: opens the page, waits with progress, saves the card; the card is never sent to the client', async () => {
    const browser = human(CARD, [{ ...CARD, cardnumber: '4242 4242 4242 4241' }]);
    const { h, asked } = await withUrlElicitation(browser.visit);
    const progress: string[] = [];
    const result = await h.call(
      'modelslab_add_payment_method',
      {},
      {
        onprogress: (p) => progress.push(p.message ?? ''),
      },
    );
    const text = textOf(result);
    expect(result.isError, text).toBeFalsy();
    expect(text).toMatch(/^Saved Visa •••• 4242 \(pm_\w+\) as the default card\. Nothing was charged\./);
    expect(text).toContain(
      'The card was typed into a one-time local page: it never passed through this conversation.',
    );
    expect(text).toMatch(
      /the page showed 1 error\(s\), the last: Stripe refused the request: incorrect_number/,
    );
    await browser.finished();
    expect(asked).toHaveLength(1);
    expect(asked[0]!.message).toMatch(/^Add a card to ModelsLab: atelier-mcp serves a one-time page/);
    expect(browser.seen.map((s) => s.status)).toEqual([422, 200]);
    expect(browser.seen[0]!.text).toContain('The card number is incorrect.');
    expect(browser.seen[1]!.text).toContain('Saved Visa •••• 4242');
    expect(progress[0]).toMatch(/^Waiting for the human to submit the page for the card/);
    // The page is done: the client is told so.
    const complete = h.received.find(
      (m) => (m as { method?: string }).method === 'notifications/elicitation/complete',
    ) as { params: { elicitationId: string } };
    expect(complete.params.elicitationId).toBe(asked[0]!.elicitationId);
    // Stripe got the card, ModelsLab only the pm_; the client and the log never saw it.
    expect(h.stripe.requests.filter((r) => r.path === '/v1/payment_methods')).toHaveLength(2);
    expect(JSON.stringify(h.modelslab.requests)).not.toContain('4242424242424242');
    expectAbsent(everything(h), '4242424242424242');
    // Too short to search for alone (the debug log has timings): next to its name.
    expect(everything(h)).not.toMatch(/(?:cvc|csc)\W{0,8}731\b/i);
    expect(textOf(await h.call('modelslab_payment_methods'))).toMatch(
      /Visa •••• 4242 \(pm_\w+\), expires 12\/2034/,
    );
  });

  it('without URL elicitation: the link is in the result, and a later call waits for the page', async () => {
    const h = await start();
    const first = textOf(await h.call('modelslab_add_payment_method', { make_default: false }));
    expect(first).toMatch(/^OPEN THIS LINK in a browser on this computer and type the card there/);
    expect(first).toMatch(/Next: give the human this link, then call modelslab_add_payment_method again/);
    const url = linkIn(first);
    const page = await openPage(url);
    expect(page.status).toBe(200);
    expect(pageText(page.html)).toContain(`Account ${SANDBOX_MODELSLAB_EMAIL}`);
    const done = await submitPage(page, CARD);
    expect(done.status).toBe(200);
    const later = await h.call('modelslab_add_payment_method', { make_default: false });
    // The account's first card becomes its default whatever make_default says.
    expect(textOf(later)).toMatch(
      /^Saved Visa •••• 4242 \(pm_\w+\) as the default card\. Nothing was charged\./,
    );
    // Reported once: the call after that opens a new page.
    expect(linkIn(textOf(await h.call('modelslab_add_payment_method', { make_default: false })))).not.toBe(
      url,
    );
    expectAbsent(everything(h), '4242424242424242');
  });

  it('a later call that finds the page still open says so and how to keep waiting', async () => {
    const h = await start();
    const first = textOf(await h.call('modelslab_add_payment_method', {}));
    const { RESUME_WAIT_MS } = await import('../../src/entry/index.js');
    expect(RESUME_WAIT_MS).toBeLessThan(60_000);
    // Cancelling on the page ends the wait at once.
    const waiting = h.call('modelslab_add_payment_method', {});
    const page = await openPage(linkIn(first));
    const cancelled = await submitPage(page, {}, { action: 'cancel' });
    expect(pageText(cancelled.html)).toContain('Nothing was stored');
    const result = await waiting;
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Nothing stored: The human cancelled the page for the card\.\nNext: /);
    expect(h.stripe.requests.filter((r) => r.path === '/v1/payment_methods')).toHaveLength(0);
  });

  it('refuses a card passed as an argument when the client can open the page, and sends nothing', async () => {
    const { h, asked } = await withUrlElicitation(async () => 'accept');
    const result = await h.call('modelslab_add_payment_method', {
      card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '731' },
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Invalid input: the card number was passed as an argument; it was not used\./,
    );
    expect(textOf(result)).toMatch(/Next: Call modelslab_add_payment_method again without it/);
    expect(asked).toHaveLength(0);
    expect(h.stripe.requests).toHaveLength(0);
    expectAbsent(everything(h), '4242424242424242');
  });

  it('uses a card argument from a headless client and says it went through the conversation', async () => {
    const h = await start();
    const result = await h.call('modelslab_add_payment_method', {
      card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '731' },
    });
    expect(textOf(result)).toMatch(/^Saved Visa •••• 4242/);
    expect(textOf(result)).toMatch(/Note: the card number passed through this conversation as an argument/);
  });

  it('ends with nothing stored when the human declines to open the page', async () => {
    const { h } = await withUrlElicitation(async () => 'decline');
    const result = await h.call('modelslab_add_payment_method', {});
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Nothing stored: The human declined to open the page for the card\.\nNext: Ask the human how they want to go on: call modelslab_add_payment_method again for a new page, or call modelslab_create_payment_link/,
    );
    expect(h.stripe.requests).toHaveLength(0);
  });
});

describe('modelslab_login and modelslab_signup through the page', () => {
  it('shows a wrong password in place, then logs in; the password never reaches the client or the log', async () => {
    const browser = human({ email: SANDBOX_MODELSLAB_EMAIL, password: 'sandbox-password' }, [
      { email: SANDBOX_MODELSLAB_EMAIL, password: 'Wr0ng-passw0rd' },
    ]);
    const { h } = await withUrlElicitation(browser.visit, { modelslabCredentials: {} });
    const result = await h.call('modelslab_login', { token_expiry: '1_week' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toMatch(
      /^Logged in to ModelsLab as sandbox@atelier\.test\.\n- access token: stored in memory/,
    );
    await browser.finished();
    expect(browser.seen[0]).toMatchObject({ status: 422 });
    expect(browser.seen[0]!.text).toMatch(/ModelsLab refused the request: invalid_credentials \(HTTP 401/);
    expect(browser.seen[1]!.text).toContain('Logged in to ModelsLab as sandbox@atelier.test');
    expectAbsent(everything(h), 'Wr0ng-passw0rd');
    // Too plain for the fragment check ("password" is a word): the whole of it, in every form, is gone.
    expect(everything(h)).not.toContain('sandbox-password');
    const issued = h.modelslab.accounts.tokens.at(-1)!.value;
    expectAbsent(everything(h), issued);
  });

  it('refuses a password argument when the client can open the page; a headless client may pass it', async () => {
    const { h } = await withUrlElicitation(async () => 'accept', { modelslabCredentials: {} });
    const refused = await h.call('modelslab_login', {
      email: SANDBOX_MODELSLAB_EMAIL,
      password: 'sandbox-password',
    });
    expect(textOf(refused)).toMatch(
      /^Invalid input: the password was passed as an argument; it was not used\./,
    );
    expect(h.modelslab.requests.filter((r) => r.path.endsWith('/auth/login'))).toHaveLength(0);

    const headless = await start({ modelslabCredentials: {} });
    const used = await headless.call('modelslab_login', {
      email: SANDBOX_MODELSLAB_EMAIL,
      password: 'sandbox-password',
    });
    expect(textOf(used)).toMatch(/^Logged in to ModelsLab/);
    expect(textOf(used)).toMatch(/Note: the password passed through this conversation/);
  });

  it('signs up with the password typed into the page (email from the arguments)', async () => {
    const password = `Pw-${randomBytes(9).toString('base64url')}`;
    const browser = human({ email: 'new@atelier.test', password, password_repeat: password }, [
      { email: 'new@atelier.test', password, password_repeat: `${password}x` },
    ]);
    const { h } = await withUrlElicitation(browser.visit, { modelslabCredentials: {} });
    const result = await h.call('modelslab_signup', { email: 'new@atelier.test', name: 'New' });
    expect(textOf(result)).toMatch(/^ModelsLab account created for new@atelier\.test \(not verified yet\)\./);
    await browser.finished();
    expect(browser.seen[0]!.text).toContain('The two passwords differ');
    expect(h.modelslab.accounts.byEmail('new@atelier.test')).toBeDefined();
    expectAbsent(everything(h), password);
  });
});

describe('API keys through the page', () => {
  it('pixelmuse_login checks the key, shows a rejected one in place, stores the good one', async () => {
    const key = `pm_test_${randomBytes(16).toString('hex')}`;
    // Pasted wrong, and not shaped like a key: no pattern knows it, only its value does.
    const wrong = `copied-${randomBytes(16).toString('base64url')}`;
    const browser = human({ api_key: key }, [{ api_key: wrong }]);
    const { h } = await withUrlElicitation(browser.visit, {
      apiKey: null,
      emulator: { apiKeys: [SANDBOX_PIXELMUSE_KEY, key] },
    });
    const result = await h.call('pixelmuse_login');
    expect(textOf(result)).toMatch(
      /^Pixelmuse key pm_test_\*\*\*…\w{4} checked with Pixelmuse and stored in memory\.\n- account: /,
    );
    await browser.finished();
    expect(browser.seen[0]!.text).toMatch(/Pixelmuse refused the request: authentication_error \(HTTP 401/);
    expect(textOf(await h.call('account_status'))).toMatch(
      /Pixelmuse .*:\n- key: pm_test_\*\*\*…\w{4} from memory/,
    );
    for (const secret of [key, wrong]) expectAbsent(everything(h), secret);
  });

  it('modelslab_login with method api_key checks the key with ModelsLab and stores it', async () => {
    const h0 = await start({ modelslabCredentials: {} });
    const user = h0.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!;
    const { key } = h0.modelslab.accounts.addApiKey(user, 'from the page');
    const first = textOf(await h0.call('modelslab_login', { method: 'api_key' }));
    const page = await openPage(linkIn(first));
    const bad = await submitPage(page, { api_key: 'not-a-key-at-all-123' });
    expect(pageText(bad.html)).toMatch(/ModelsLab refused the request: HTTP 401 .*Invalid API key\./);
    expect((await submitPage(page, { api_key: key })).status).toBe(200);
    const done = textOf(await h0.call('modelslab_login', { method: 'api_key' }));
    expect(done).toMatch(
      /^ModelsLab API key \w\w…\w{4} checked with ModelsLab and stored in memory\.\n- wallet: /,
    );
    expectAbsent(everything(h0), key);
  });

  it('refuses a key passed to a tool that takes none, naming where keys go instead', async () => {
    const h = await start();
    const result = await h.call('pixelmuse_login', { api_key: 'pm_test_0123456789abcdef0123456789abcdef' });
    expect(textOf(result)).toMatch(
      /^Invalid input: pixelmuse_login takes no api_key argument; it was not used\./,
    );
    expectAbsent(everything(h), 'pm_test_0123456789abcdef0123456789abcdef');
  });
});

describe('secrets an upstream echoes back (the attack of issue 16)', () => {
  const base64Echo = (secret: string) => Buffer.from(`k=${secret}`).toString('base64');
  const echoes = (secret: string) =>
    `got ${secret}, ${encodeURIComponent(secret)}, ${base64Echo(secret)} ` +
    `and ${JSON.stringify(JSON.stringify({ k: secret }))}`;
  /** Neither the secret nor the base64 text it was echoed in (past the characters "k=" shares). */
  const expectNoEcho = (text: string, secret: string) => {
    expectAbsent(text, secret);
    expectAbsent(text, base64Echo(secret).slice(4, -4));
  };

  it('masks a key typed into the page on the page, in the result and in the log', async () => {
    const key = `pm_test_${randomBytes(16).toString('hex')}`;
    // Pasted wrong, and not shaped like a key: no pattern knows it, only its value does.
    const wrong = `copied-${randomBytes(16).toString('base64url')}`;
    const browser = human({ api_key: key }, [{ api_key: wrong }]);
    const { h } = await withUrlElicitation(browser.visit, {
      apiKey: null,
      emulator: { apiKeys: [key] },
    });
    h.emulator.inject({
      method: 'GET',
      path: '/api/v1/account',
      status: 401,
      body: { error: { code: 'authentication_error', message: `Invalid API key: ${echoes(wrong)}` } },
    });
    const result = await h.call('pixelmuse_login');
    await browser.finished();
    expect(browser.seen[0]!.text).toMatch(/Pixelmuse refused the request: authentication_error \(HTTP 401/);
    expectNoEcho(browser.seen[0]!.text, wrong);
    expect(textOf(result)).toMatch(/the last: Pixelmuse refused the request: authentication_error/);
    expectNoEcho(everything(h), wrong);
    expectAbsent(everything(h), key);
  });

  it('masks a card typed into the page that Stripe echoes back, with its CVC and expiry', async () => {
    const browser = human(CARD, [{ ...CARD, cardnumber: '5555 5555 5555 4444' }]);
    const { h } = await withUrlElicitation(browser.visit);
    h.stripe.inject({
      method: 'POST',
      path: '/v1/payment_methods',
      status: 402,
      body: {
        error: {
          type: 'card_error',
          code: 'card_declined',
          message: `Declined: card[number]=5555555555554444&card[cvc]=731; 5555 5555 5555 4444 12/34; ${echoes('5555555555554444')}`,
        },
      },
    });
    const result = await h.call('modelslab_add_payment_method', {});
    await browser.finished();
    expect(browser.seen[0]!.text).toContain('The card was declined.');
    expectNoEcho(browser.seen[0]!.text, '5555555555554444');
    expect(browser.seen[0]!.text).not.toMatch(/5555 5555|cvc\W{0,8}731/i);
    expect(textOf(result)).toMatch(/^Saved Visa •••• 4242/);
    expectNoEcho(everything(h), '5555555555554444');
    expect(everything(h)).not.toMatch(/5555 5555|cvc\W{0,8}731/i);
  });

  it('masks a password passed as an argument by a headless client when ModelsLab echoes it', async () => {
    const password = `Pw-${randomBytes(9).toString('base64url')}`;
    const h = await start({ modelslabCredentials: {} });
    h.modelslab.inject({
      method: 'POST',
      path: '/api/agents/v1/auth/login',
      status: 422,
      body: {
        data: null,
        error: {
          code: 'validation_error',
          message: `Rejected ${echoes(password)}`,
          details: { password: [password] },
        },
        meta: { request_id: 'req_echo' },
      },
    });
    const result = await h.call('modelslab_login', { email: SANDBOX_MODELSLAB_EMAIL, password });
    expect(textOf(result)).toMatch(
      /^ModelsLab refused the request: validation_error \(HTTP 422, request req_echo\)/,
    );
    // The client sent it; nothing the server sent back or logged holds it.
    const fromServer = JSON.stringify(h.received) + h.logs.join('\n');
    expectNoEcho(fromServer, password);
  });

  it('masks the stored ModelsLab API key when the generation API names it in plain text', async () => {
    // A random key (the sandbox's own spells "ModelsLab", which prose does too).
    const key = randomBytes(30).toString('base64url');
    const h = await start({
      modelslabCredentials: { modelslab_token: SANDBOX_MODELSLAB_TOKEN, modelslab_api_key: key },
    });
    h.modelslab.accounts.addApiKey(
      h.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!,
      'echoed',
      null,
      key,
    );
    h.modelslab.inject({
      method: 'POST',
      path: /^\/api\/v[678]\/images\/text/,
      status: 200,
      body: { status: 'error', message: `The key ${key} has run out; ${echoes(key)}` },
    });
    const result = await h.call('generate_image', {
      provider: 'modelslab',
      model: 'imagen-4',
      prompt: 'a cat',
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('has run out');
    expectNoEcho(everything(h), key);
  });
});

export type { OpenedPage };
