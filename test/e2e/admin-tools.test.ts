import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  SANDBOX_MODELSLAB_EMAIL,
  SANDBOX_MODELSLAB_TOKEN,
  startModelslabEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type StripeEmulator,
} from '../../src/sandbox/index.js';
import { openPage, submitPage } from '../helpers/page-client.js';
import { BIN, cleanEnv, connectBin, requireBuiltBin, type BinSession } from '../helpers/spawn.js';

// The admin toolset as a client meets it: the built bin over stdio (SDK Client), ATELIER_TOOLSETS naming admin,
// emulators of ModelsLab and Stripe on loopback behind it. Each test starts from a fresh account.

let stripe: StripeEmulator;
let ml: ModelslabEmulator;
let dir: string;
const sessions: BinSession[] = [];

beforeEach(async () => {
  requireBuiltBin();
  stripe = await startStripeEmulator();
  ml = await startModelslabEmulator({ stripe });
  dir = await mkdtemp(join(tmpdir(), 'atelier-admin-'));
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await Promise.all([ml?.close(), stripe?.close()]);
  await rm(dir, { recursive: true, force: true });
});

type Elicit = { mode?: string; message: string; url?: string; elicitationId?: string };

interface Bin {
  call(name: string, args?: Record<string, unknown>): Promise<{ text: string; isError: boolean }>;
  asked: Elicit[];
  session: BinSession;
}

async function bin(
  opts: {
    env?: Record<string, string>;
    token?: string;
    elicitation?: 'form' | 'url';
    answer?: (
      req: Elicit,
    ) => Promise<{ action: 'accept' | 'decline' | 'cancel'; content?: Record<string, unknown> }>;
  } = {},
): Promise<Bin> {
  const asked: Elicit[] = [];
  const session = await connectBin({
    args: [BIN],
    env: cleanEnv({
      MODELSLAB_BASE_URL: ml.url,
      STRIPE_API_BASE: stripe.url,
      MODELSLAB_TOKEN: opts.token ?? SANDBOX_MODELSLAB_TOKEN,
      ATELIER_HOME: join(dir, 'home'),
      ATELIER_OUTPUT_DIR: join(dir, 'out'),
      ATELIER_CREDENTIAL_STORE: 'memory',
      ATELIER_PROVIDERS: 'modelslab',
      ATELIER_TOOLSETS: 'all,admin',
      ...opts.env,
    }),
    ...(opts.elicitation
      ? {
          capabilities: { elicitation: opts.elicitation === 'form' ? { form: {} } : { url: {} } },
          setup: (client) =>
            client.setRequestHandler(ElicitRequestSchema, async (req) => {
              const params = req.params as Elicit;
              asked.push(params);
              return opts.answer ? opts.answer(params) : { action: 'decline' as const };
            }),
        }
      : {}),
  });
  sessions.push(session);
  return {
    asked,
    session,
    async call(name, args = {}) {
      const r = (await session.client.callTool({ name, arguments: args }, undefined, {
        timeout: 60_000,
      })) as CallToolResult;
      const text = r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
      return { text, isError: r.isError === true };
    },
  };
}

const sent = (method: string, path: string) =>
  ml.requests.filter((r) => r.method === method && r.path === `/api/agents/v1${path}`);
const owner = () => ml.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!;
const ledger = async () =>
  (await readFile(join(dir, 'home', 'spend', 'ledger.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const VISA = { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '123' };

async function withCard(b: Bin): Promise<string> {
  const { text } = await b.call('modelslab_add_payment_method', { card: VISA });
  const pm = /\((pm_\w+)\)/.exec(text)?.[1];
  expect(pm, text).toBeDefined();
  return pm!;
}

describe('the admin toolset is opt-in', () => {
  it('is absent from the default tools/list, and adds actions to modelslab_profile and modelslab_api_keys', async () => {
    const plain = await bin({ env: { ATELIER_TOOLSETS: '' } });
    const admin = await bin();
    const byName = async (b: Bin) =>
      new Map((await b.session.client.listTools()).tools.map((t) => [t.name, t]));
    const [off, on] = [await byName(plain), await byName(admin)];
    for (const name of ['modelslab_team', 'modelslab_auto_funding', 'modelslab_reset_password']) {
      expect(off.has(name)).toBe(false);
      expect(on.has(name)).toBe(true);
    }
    expect(Object.keys(off.get('modelslab_profile')!.inputSchema.properties ?? {})).toEqual([]);
    expect(off.get('modelslab_profile')!.annotations?.readOnlyHint).toBe(true);
    expect(Object.keys(on.get('modelslab_profile')!.inputSchema.properties ?? {})).toContain('preferences');
    expect(on.get('modelslab_profile')!.annotations?.readOnlyHint).toBe(false);
    const actions = (t: { inputSchema: { properties?: Record<string, unknown> } }) =>
      (t.inputSchema.properties?.action as { enum: string[] }).enum;
    expect(actions(off.get('modelslab_api_keys')!)).toEqual(['list', 'create', 'delete']);
    expect(actions(on.get('modelslab_api_keys')!)).toEqual(['list', 'create', 'delete', 'get', 'update']);
    expect(on.get('modelslab_auto_funding')!._meta).toEqual({ 'anthropic/requiresUserInteraction': true });
    expect(on.get('modelslab_team')!.annotations?.destructiveHint).toBe(true);
  });
});

describe('modelslab_team', () => {
  it('invites, lists, gets, updates, resends, is accepted by the invitee, and removes', async () => {
    const b = await bin();
    expect((await b.call('modelslab_team')).text).toMatch(/has no members or invites/);
    const invited = await b.call('modelslab_team', { action: 'invite', email: 'ada@example.com' });
    expect(invited.text).toMatch(/^Invited ada@example\.com to the ModelsLab team \(member #1\)\./);
    expect(sent('POST', '/teams')[0]!.body).toEqual({ email: 'ada@example.com' });
    expect((await b.call('modelslab_team', { action: 'list' })).text).toBe(
      '1 ModelsLab team member(s) and invite(s):\n- #1 ada@example.com, role member, pending',
    );
    const updated = await b.call('modelslab_team', {
      action: 'update',
      id: 1,
      role: 'admin',
      permissions: ['billing', 'keys'],
      status: 'pending',
    });
    expect(updated.text).toBe('Updated: #1 ada@example.com, role admin, pending, permissions billing, keys');
    expect(sent('PUT', '/teams/1')[0]!.body).toEqual({
      role: 'admin',
      permissions: ['billing', 'keys'],
      invite_status: 'pending',
    });
    expect((await b.call('modelslab_team', { action: 'get', id: 1 })).text).toMatch(
      /^#1 ada@example\.com, role admin/,
    );
    expect((await b.call('modelslab_team', { action: 'resend_invite', id: 1 })).text).toBe(
      'Sent the invitation to member #1 again.',
    );
    expect(sent('POST', '/teams/1/resend-invite')).toHaveLength(1);

    // The invitee, with their own account and token, accepts with the id from the email.
    const ada = ml.accounts.createUser({
      email: 'ada@example.com',
      password: 'ada-password',
      name: 'Ada',
      verified: true,
    });
    const adaToken = ml.accounts.issueToken(ada, '1_month', 'test').value;
    const inviteId = ml.admin.team[0]!.inviteId;
    const invitee = await bin({ token: adaToken });
    expect(
      (await invitee.call('modelslab_team', { action: 'accept_invite', invite_id: inviteId })).text,
    ).toBe(`Joined the ModelsLab team of ${SANDBOX_MODELSLAB_EMAIL} as admin.`);
    expect((await b.call('modelslab_team')).text).toContain(
      '- #1 ada@example.com (Ada), role admin, accepted',
    );
    const again = await b.call('modelslab_team', { action: 'resend_invite', id: 1 });
    expect(again.isError).toBe(true);
    expect(again.text).toMatch(
      /invite_already_accepted \(HTTP 409[\s\S]*Next: Call modelslab_team with action list/,
    );

    expect((await b.call('modelslab_team', { action: 'remove', id: 1 })).text).toBe(
      'Removed member #1 from the ModelsLab team.',
    );
    expect(ml.admin.team).toEqual([]);
    const gone = await b.call('modelslab_team', { action: 'get', id: 1 });
    expect(gone.text).toMatch(/^ModelsLab refused the request: not_found \(HTTP 404, request req_\w+\)/);
    expect(gone.text).toMatch(/Next: Call modelslab_team with action list for the ids/);
  });

  it('refuses what ModelsLab refuses, and checks its own arguments before sending', async () => {
    const b = await bin();
    const before = ml.requests.length;
    for (const [args, why] of [
      [{ action: 'invite' }, /^Invalid input: invite needs an email\./],
      [{ action: 'update' }, /^Invalid input: update needs the member's id\./],
      [{ action: 'update', id: 3 }, /^Invalid input: update needs role, permissions or status\./],
      [{ action: 'accept_invite' }, /^Invalid input: accept_invite needs the invite_id\./],
    ] as const) {
      const r = await b.call('modelslab_team', args);
      expect(r.isError).toBe(true);
      expect(r.text).toMatch(why);
    }
    expect(ml.requests.length).toBe(before);
    const self = await b.call('modelslab_team', { action: 'invite', email: SANDBOX_MODELSLAB_EMAIL });
    expect(self.text).toMatch(/validation_error \(HTTP 422[\s\S]*You cannot invite yourself/);
    const stranger = await bin();
    await stranger.call('modelslab_team', { action: 'invite', email: 'bob@example.com' });
    const wrong = await (
      await bin({ token: ml.accounts.issueToken(owner(), '1_week', 'x').value })
    ).call('modelslab_team', { action: 'accept_invite', invite_id: ml.admin.team[0]!.inviteId });
    expect(wrong.text).toMatch(/forbidden \(HTTP 403[\s\S]*another email address/);
  });

  it('reports an injected outage with the status and when to come back', async () => {
    const b = await bin();
    ml.inject({ path: '/api/agents/v1/teams', status: 503, times: 10 });
    const r = await b.call('modelslab_team');
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(/HTTP 503/);
    expect(r.text).toMatch(/Next: /);
  });
});

describe('modelslab_invoices', () => {
  it('lists, gets, shows the links, and saves the PDF into the project', async () => {
    const b = await bin();
    const list = (await b.call('modelslab_invoices')).text;
    expect(list).toMatch(
      /^1 ModelsLab invoice\(s\):\n- (in_sbx\d+) \(SBX-\d{5}\), \$25\.00, paid, \d{4}-\d\d-\d\d, Sandbox starting balance$/,
    );
    const id = /- (in_sbx\d+)/.exec(list)![1]!;
    expect((await b.call('modelslab_invoices', { action: 'get', id })).text).toMatch(
      new RegExp(
        `^ModelsLab invoice ${id} \\(SBX-\\d+\\), \\$25\\.00, paid, [\\d-]+, Sandbox starting balance\\n- Sandbox starting balance: \\$25\\.00\\n`,
      ),
    );
    const links = (await b.call('modelslab_invoices', { action: 'pdf', id })).text;
    expect(links).toMatch(
      new RegExp(
        `- PDF: ${ml.url}/sandbox/invoices/${id}/[0-9a-f]{32}\\.pdf\\n- receipt: ${ml.url}/sandbox/receipts/`,
      ),
    );
    expect(links).toMatch(/save: true downloads the PDF/);

    const saved = await b.call('modelslab_invoices', {
      action: 'pdf',
      id,
      save: true,
      output_dir: 'invoices',
      filename: 'march.pdf',
    });
    expect(saved.isError, saved.text).toBe(false);
    const path = /^Saved: (\S+) \((\d+) bytes, application\/pdf\)$/m.exec(saved.text);
    expect(path?.[1]).toBe(join(dir, 'out', 'invoices', 'march.pdf'));
    const bytes = await readFile(path![1]!);
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    expect(bytes.length).toBe(Number(path![2]));
    // Never overwrites: a second save gets its own name.
    const second = await b.call('modelslab_invoices', {
      action: 'pdf',
      id,
      save: true,
      output_dir: 'invoices',
      filename: 'march',
    });
    expect(second.text).toContain(join(dir, 'out', 'invoices', 'march-2.pdf'));
  });

  it('checks the folder before asking, and saves nothing that is not a PDF or is too large', async () => {
    const b = await bin();
    const id = /- (in_sbx\d+)/.exec((await b.call('modelslab_invoices')).text)![1]!;
    const escape = await b.call('modelslab_invoices', {
      action: 'pdf',
      id,
      save: true,
      output_dir: '../outside',
    });
    expect(escape.text).toMatch(
      /^Invalid input: output_dir "\.\.\/outside" must stay inside the output root/,
    );
    expect(sent('GET', `/billing/invoices/${id}/pdf`)).toHaveLength(0);

    ml.inject({
      path: '/sandbox/invoices/',
      status: 200,
      body: '<!doctype html><html><body>Sign in</body></html>',
    });
    const html = await b.call('modelslab_invoices', { action: 'pdf', id, save: true });
    expect(html.isError).toBe(true);
    expect(html.text).toMatch(/not_a_pdf[\s\S]*is not a PDF: \d+ bytes of an HTML page/);

    ml.inject({ path: '/sandbox/invoices/', huge: { bytes: 21 * 1024 * 1024, head: '%PDF-1.4\n' } });
    const huge = await b.call('modelslab_invoices', { action: 'pdf', id, save: true });
    expect(huge.isError).toBe(true);
    expect(huge.text).toMatch(/larger than the 20 MB limit/);
    expect(await readdir(join(dir, 'out')).catch(() => [])).toEqual([]);
  });
});

describe('modelslab_billing_info', () => {
  it('gets, updates only the fields given, and shows the overview', async () => {
    const b = await bin();
    expect((await b.call('modelslab_billing_info')).text).toBe(
      `ModelsLab billing profile: Sandbox <${SANDBOX_MODELSLAB_EMAIL}>\n- tax id: none\n- address: none`,
    );
    const fields = {
      tax_id: 'DE123456789',
      tax_id_type: 'eu_vat',
      address_city: 'Berlin',
      address_country: 'DE',
    };
    const updated = await b.call('modelslab_billing_info', { action: 'update', fields });
    expect(updated.text).toBe(
      `Updated the ModelsLab billing profile.\nModelsLab billing profile: Sandbox <${SANDBOX_MODELSLAB_EMAIL}>\n` +
        '- tax id: DE123456789 (eu_vat)\n- address: Berlin, DE',
    );
    expect(sent('PUT', '/billing/info')[0]!.body).toEqual(fields);
    expect(ml.admin.billingInfo.get(owner().id)).toMatchObject(fields);

    await withCard(b);
    expect((await b.call('modelslab_billing_info', { action: 'overview' })).text).toMatch(
      /^ModelsLab billing overview:\n- wallet: \$25\.00; auto-funding off\n- cards: visa •••• 4242 \(pm_\w+\) default\n- subscriptions: none\n- invoices: 1 \(modelslab_invoices\)$/,
    );
  });

  it('passes on what ModelsLab refuses, field by field, and refuses unknown fields itself', async () => {
    const b = await bin();
    const noType = await b.call('modelslab_billing_info', { action: 'update', fields: { tax_id: 'DE1' } });
    expect(noType.isError).toBe(true);
    expect(noType.text).toMatch(
      /validation_error \(HTTP 422[\s\S]*tax_id_type: The tax id type field is required/,
    );
    expect(noType.text).toMatch(/Next: Fix the fields ModelsLab named/);
    const before = ml.requests.length;
    const wrong = await b.call('modelslab_billing_info', { action: 'update', fields: { city: 'Berlin' } });
    expect(wrong.isError).toBe(true);
    const empty = await b.call('modelslab_billing_info', { action: 'update' });
    expect(empty.text).toMatch(/^Invalid input: update needs fields/);
    expect(ml.requests.length).toBe(before);
  });
});

describe('modelslab_coupon', () => {
  it('validates, redeems once as a ledger credit that no cap counts, and refuses a second redemption', async () => {
    const b = await bin();
    expect((await b.call('modelslab_coupon', { coupon_code: 'SPRING' })).text).toMatch(
      /^Coupon SPRING is valid: \$10\.00 \(credit\)\.\n- expires 2999-12-31\n/,
    );
    expect(sent('GET', '/wallet/coupons/validate')[0]!.query).toEqual({ coupon_code: 'SPRING' });
    const redeemed = await b.call('modelslab_coupon', { action: 'redeem', coupon_code: 'SPRING' });
    expect(redeemed.text).toBe(
      'Redeemed coupon SPRING: +$10.00 in the ModelsLab wallet; nothing was charged. Balance: $35.00.\n' +
        'Recorded in the local ledger as a credit (spend_report); it counts against no cap.',
    );
    expect(sent('POST', '/wallet/coupons/redeem')[0]!.headers['idempotency-key']).toMatch(
      /^atelier-modelslab-coupon-redeem-/,
    );
    expect(owner().walletUsd).toBe(35);
    expect(await ledger()).toMatchObject([
      {
        operation: 'modelslab.coupon.redeem',
        amount: 10,
        kind: 'credit',
        reference: expect.stringMatching(/^txn_/),
      },
    ]);
    const report = (await b.call('spend_report')).text;
    expect(report).toMatch(/^Spend today \([\d-]+ UTC\): \$0\.00 of \$100\.00/);
    expect(report).toMatch(
      /Credits \(value added without a charge; counted in no cap\):\n- \S+ modelslab modelslab\.coupon\.redeem \+\$10\.00 txn_\d+: coupon SPRING/,
    );
    expect(report).toContain('No charges in the last 30 day(s).');

    const twice = await b.call('modelslab_coupon', { action: 'redeem', coupon_code: 'SPRING' });
    expect(twice.isError).toBe(true);
    expect(twice.text).toMatch(
      /already redeemed[\s\S]*Next: Check the code with modelslab_coupon action validate/,
    );
    const expired = await b.call('modelslab_coupon', { coupon_code: 'WINTER2020' });
    expect(expired.text).toMatch(/validation_error \(HTTP 422[\s\S]*This coupon has expired/);
    expect(owner().walletUsd).toBe(35);
    expect(await ledger()).toHaveLength(1);
  });

  it('credits once when the answer to the redemption is lost and the call is made again', async () => {
    const b = await bin();
    // Redeemed upstream, answered 502 every time the client tries (1 + 3 retries): the outcome is unknown.
    ml.inject({ path: '/api/agents/v1/wallet/coupons/redeem', answerInstead: { status: 502 }, times: 4 });
    const lost = await b.call('modelslab_coupon', { action: 'redeem', coupon_code: 'SPRING' });
    expect(lost.isError).toBe(true);
    expect(lost.text).toMatch(/HTTP 502/);
    expect(await ledger()).toHaveLength(0);
    const again = await b.call('modelslab_coupon', { action: 'redeem', coupon_code: 'SPRING' });
    expect(again.text).toMatch(/^Redeemed coupon SPRING: \+\$10\.00/);
    expect(again.text).toContain('redeemed once, not twice');
    const keys = new Set(sent('POST', '/wallet/coupons/redeem').map((r) => r.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect(sent('POST', '/wallet/coupons/redeem')).toHaveLength(5);
    expect(owner().walletUsd).toBe(35);
    expect(await ledger()).toHaveLength(1);
  });
});

describe('modelslab_auto_funding', () => {
  const SET = { action: 'set', threshold_usd: 10, amount_usd: 50 };
  const puts = () => sent('PUT', '/wallet/auto-funding');

  it('quotes the amount and the trigger, sets it only with the token, shows it on, and disables it', async () => {
    const b = await bin();
    const pm = await withCard(b);
    const quote = (await b.call('modelslab_auto_funding', SET)).text;
    expect(quote).toMatch(
      new RegExp(
        "^Not set yet: automatic charges of \\$50\\.00 USD each need the human's approval\\.\\n" +
          'What: ModelsLab wallet auto-funding \\(\\$50\\.00 per top-up\\)\\.\\n' +
          'When: the ModelsLab wallet falls under \\$10\\.00\\.\\n' +
          `Paid with: Visa •••• 4242 \\(${pm}\\)\\.\\n`,
      ),
    );
    expect(puts()).toHaveLength(0);
    const token = /^confirmation_token: (ct_\S+)$/m.exec(quote)![1]!;
    const done = (await b.call('modelslab_auto_funding', { ...SET, confirmation_token: token })).text;
    expect(done).toMatch(
      new RegExp(
        `^Auto-funding is ON: ModelsLab charges \\$50\\.00 to Visa •••• 4242 \\(${pm}\\) each time the ModelsLab wallet falls under \\$10\\.00\\.`,
      ),
    );
    expect(done).toMatch(/confirmed with a quoted confirmation_token/);
    expect(puts()).toHaveLength(1);
    expect(puts()[0]!.body).toEqual({ auto_charge_amount: 50, charge_threshold: 10, payment_method_id: pm });
    expect(puts()[0]!.headers['idempotency-key']).toMatch(/^atelier-modelslab-wallet-auto-funding-/);
    expect(ml.admin.autoFunding.get(owner().id)).toMatchObject({
      auto_charge_amount: 50,
      charge_threshold: 10,
    });
    // The same token again changes nothing.
    expect((await b.call('modelslab_auto_funding', { ...SET, confirmation_token: token })).text).toMatch(
      /^Already done/,
    );
    expect(puts()).toHaveLength(1);

    const on =
      /ON: standing authorisations[^\n]*\n- modelslab ModelsLab wallet auto-funding \(\$50\.00 per top-up\): \$50\.00 each time the ModelsLab wallet falls under \$10\.00, paid with Visa •••• 4242/;
    expect((await b.call('account_status')).text).toMatch(on);
    const report = (await b.call('spend_report')).text;
    expect(report).toMatch(on);
    expect(report).toMatch(/^Spend today \([\d-]+ UTC\): \$0\.00 of/);
    expect(await ledger()).toEqual([]);
    expect((await b.call('modelslab_billing_info', { action: 'overview' })).text).toContain(
      'auto-funding on: $50.00 when under $10.00',
    );

    expect((await b.call('modelslab_auto_funding', { action: 'disable' })).text).toBe(
      'Auto-funding is OFF: ModelsLab no longer tops the wallet up by itself.',
    );
    expect(sent('DELETE', '/wallet/auto-funding')[0]!.headers['idempotency-key']).toBeDefined();
    expect(ml.admin.autoFunding.has(owner().id)).toBe(false);
    expect((await b.call('account_status')).text).not.toMatch(/standing authorisations/);
    expect((await b.call('spend_report')).text).not.toMatch(/standing authorisations/);
  });

  it('sends nothing when the human declines the form, and sets it when they approve', async () => {
    let answer: 'accept' | 'decline' = 'decline';
    const b = await bin({
      elicitation: 'form',
      answer: async () =>
        answer === 'accept' ? { action: 'accept', content: { approve: true } } : { action: 'decline' },
    });
    await withCard(b);
    const declined = await b.call('modelslab_auto_funding', SET);
    expect(declined.text).toBe(
      'Not set: the human declined automatic charges of $50.00 (ModelsLab wallet auto-funding ($50.00 per top-up)); nothing was sent.',
    );
    expect(b.asked[0]!.message).toMatch(
      /^Approve automatic charges of \$50\.00 USD each\?\nWhat: ModelsLab wallet auto-funding \(\$50\.00 per top-up\)\.\nWhen: the ModelsLab wallet falls under \$10\.00\.\nPaid with: Visa •••• 4242/,
    );
    expect(puts()).toHaveLength(0);
    expect(ml.admin.autoFunding.size).toBe(0);
    answer = 'accept';
    expect((await b.call('modelslab_auto_funding', SET)).text).toMatch(/^Auto-funding is ON/);
    expect(puts()).toHaveLength(1);
  });

  it('refuses an amount over ATELIER_MAX_USD_PER_CALL before asking, and without a card', async () => {
    const b = await bin({ env: { ATELIER_MAX_USD_PER_CALL: '20', ATELIER_MAX_USD_PER_DAY: '20' } });
    const none = await b.call('modelslab_auto_funding', SET);
    expect(none.text).toMatch(/^Not configured: The ModelsLab account has no saved card\./);
    await withCard(b);
    const over = await b.call('modelslab_auto_funding', SET);
    expect(over.isError).toBe(true);
    expect(over.text).toMatch(
      /^Not charged: \$50\.00 is above the per-call cap ATELIER_MAX_USD_PER_CALL \(\$20\.00\)/,
    );
    expect((await b.call('modelslab_auto_funding', { ...SET, amount_usd: 20 })).text).toMatch(
      /^Not set yet: automatic charges of \$20\.00 USD each/,
    );
    const missing = await b.call('modelslab_auto_funding', { action: 'set', amount_usd: 20 });
    expect(missing.text).toMatch(/^Invalid input: set needs threshold_usd and amount_usd\./);
    expect(puts()).toHaveLength(0);
  });

  it('passes on a refusal by ModelsLab and keeps nothing on', async () => {
    // Auto-approval never covers a standing authorisation: the human approves in the form.
    const b = await bin({
      env: { ATELIER_AUTO_APPROVE_USD: '50' },
      elicitation: 'form',
      answer: async () => ({ action: 'accept', content: { approve: true } }),
    });
    await withCard(b);
    const r = await b.call('modelslab_auto_funding', { ...SET, payment_method_id: 'pm_notmine' });
    expect(r.isError).toBe(true);
    expect(b.asked).toHaveLength(1);
    expect(r.text).toMatch(
      /validation_error \(HTTP 422[\s\S]*not a saved card[\s\S]*Next: Check the card with modelslab_payment_methods/,
    );
    expect((await b.call('account_status')).text).not.toMatch(/standing authorisations/);
  });
});

describe('modelslab_reset_password', () => {
  it('forgot sends the email; reset takes the new password through the one-time page', async () => {
    const b = await bin({
      elicitation: 'url',
      answer: async (req) => {
        // The human opens the page and types the new password twice.
        void (async () => {
          const page = await openPage(req.url!);
          await submitPage(page, {
            email: SANDBOX_MODELSLAB_EMAIL,
            password: 'brand-new-pass',
            password_repeat: 'brand-new-pass',
          });
        })();
        return { action: 'accept' };
      },
    });
    expect(
      (await b.call('modelslab_reset_password', { action: 'forgot', email: SANDBOX_MODELSLAB_EMAIL })).text,
    ).toMatch(
      /^If sandbox@atelier\.test has a ModelsLab account, ModelsLab has emailed it a password reset link\.\nNext: /,
    );
    const [token] = [...ml.admin.resets.keys()];
    const done = await b.call('modelslab_reset_password', {
      action: 'reset',
      email: SANDBOX_MODELSLAB_EMAIL,
      token,
    });
    expect(done.isError, done.text).toBe(false);
    expect(done.text).toMatch(/^The ModelsLab password of sandbox@atelier\.test is reset\./);
    expect(done.text).toContain('never passed through this conversation');
    expect(owner().password).toBe('brand-new-pass');
    expect(sent('POST', '/auth/reset-password')[0]!.body).toEqual({
      email: SANDBOX_MODELSLAB_EMAIL,
      token,
      password: 'brand-new-pass',
      password_confirmation: 'brand-new-pass',
    });
    for (const m of b.session.messages) expect(JSON.stringify(m)).not.toContain('brand-new-pass');
    expect(b.session.stderr.join('\n')).not.toContain('brand-new-pass');
    // A token is good once.
    const reused = await b.call('modelslab_reset_password', {
      action: 'reset',
      email: SANDBOX_MODELSLAB_EMAIL,
      token,
      password: 'another-pass-1',
    });
    expect(reused.text).toMatch(/^Invalid input: the password was passed as an argument; it was not used\./);
  });

  it('a headless client resets with the password argument; a bad token is refused with the next step', async () => {
    const b = await bin();
    await b.call('modelslab_reset_password', { action: 'forgot', email: SANDBOX_MODELSLAB_EMAIL });
    const bad = await b.call('modelslab_reset_password', {
      action: 'reset',
      email: SANDBOX_MODELSLAB_EMAIL,
      token: 'f'.repeat(64),
      password: 'headless-pass',
    });
    expect(bad.text).toMatch(
      /validation_error \(HTTP 422[\s\S]*reset token is invalid[\s\S]*Next: Call modelslab_reset_password with action forgot/,
    );
    const [token] = [...ml.admin.resets.keys()];
    const ok = await b.call('modelslab_reset_password', {
      action: 'reset',
      email: SANDBOX_MODELSLAB_EMAIL,
      token,
      password: 'headless-pass',
    });
    expect(ok.text).toMatch(/is reset\.[\s\S]*Note: the password passed through this conversation/);
    expect(owner().password).toBe('headless-pass');
    const noToken = await b.call('modelslab_reset_password', {
      action: 'reset',
      email: SANDBOX_MODELSLAB_EMAIL,
    });
    expect(noToken.text).toMatch(/^Invalid input: reset needs the token/);
  });
});

describe('modelslab_profile update and modelslab_api_keys get/update', () => {
  it('updates the profile fields and the preferences with their documented calls', async () => {
    const b = await bin();
    const r = await b.call('modelslab_profile', {
      action: 'update',
      name: 'Ada Lovelace',
      about_me: 'Engines',
      preferences: { wallet_notification_enabled: true, wallet_notification_threshold: 12 },
    });
    expect(r.text).toBe(
      'Updated the ModelsLab profile: name "Ada Lovelace", about_me "Engines", wallet_notification_enabled true, wallet_notification_threshold 12.',
    );
    expect(sent('PATCH', '/me')[0]!.body).toEqual({ name: 'Ada Lovelace', about_me: 'Engines' });
    expect(sent('PATCH', '/me/preferences')[0]!.body).toEqual({
      wallet_notification_enabled: true,
      wallet_notification_threshold: 12,
    });
    expect((await b.call('modelslab_profile')).text).toMatch(
      /^ModelsLab profile: Ada Lovelace <[\s\S]*wallet_notification_threshold 12/,
    );
    const taken = ml.accounts.createUser({
      email: 'xavier@example.com',
      password: 'xxxxxxxx',
      name: 'X',
      verified: true,
    }).username;
    const clash = await b.call('modelslab_profile', { action: 'update', username: taken });
    expect(clash.text).toMatch(/validation_error \(HTTP 422[\s\S]*username has already been taken/);
    const nothing = await b.call('modelslab_profile', { action: 'update' });
    expect(nothing.text).toMatch(/^Invalid input: update needs name, username, about_me or preferences\./);
  });

  it('keeps modelslab_profile read-only under --read-only, even with the admin toolset named', async () => {
    const b = await bin({ env: { ATELIER_READ_ONLY: '1' } });
    const { tools } = await b.session.client.listTools();
    expect(tools.map((t) => t.name)).not.toContain('modelslab_team');
    const profile = tools.find((t) => t.name === 'modelslab_profile')!;
    expect(profile.inputSchema.properties ?? {}).toEqual({});
    expect(profile.annotations?.readOnlyHint).toBe(true);
    const r = await b.call('modelslab_profile', { action: 'update', name: 'Nope' });
    expect(r.text).toMatch(/^ModelsLab profile: Sandbox </);
    expect(sent('PATCH', '/me')).toHaveLength(0);
  });

  it('gets one key and updates its name and notes', async () => {
    const b = await bin();
    const id = owner().apiKeys[0]!.id;
    expect((await b.call('modelslab_api_keys', { action: 'get', id })).text).toMatch(
      new RegExp(`^ModelsLab API key #${id} "Default" SbxM…c7e9, created [\\d-]+$`),
    );
    expect(
      (await b.call('modelslab_api_keys', { action: 'update', id, name: 'prod', notes: 'orchestrator' }))
        .text,
    ).toMatch(
      new RegExp(`^Updated ModelsLab API key #${id} "prod" SbxM…c7e9, created [\\d-]+ \\(orchestrator\\)$`),
    );
    expect(sent('PUT', `/api-keys/${id}`)[0]!.body).toEqual({ name: 'prod', notes: 'orchestrator' });
    expect(owner().apiKeys[0]).toMatchObject({ name: 'prod', notes: 'orchestrator' });
    const missing = await b.call('modelslab_api_keys', { action: 'update', id: 99999, name: 'x' });
    expect(missing.text).toMatch(/not_found \(HTTP 404[\s\S]*Next: Call modelslab_api_keys with action list/);
    const plain = await bin({ env: { ATELIER_TOOLSETS: '' } });
    const refused = await plain.call('modelslab_api_keys', { action: 'get', id });
    expect(refused.isError).toBe(true);
    expect(refused.text).toMatch(/action/);
  });
});
