import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  SANDBOX_MODELSLAB_TOKEN,
  startModelslabEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type StripeEmulator,
} from '../../src/sandbox/index.js';
import { startModernClient, textOf, type ModernClient } from '../helpers/modern-client.js';
import { newPlace, requireTestBin, spendFiles, type Place } from '../helpers/spend-bins.js';

/**
 * Issue 19, "Proof asked": the built bin spoken to as a 2026-07-28 client speaks, by hand over stdio. No
 * `initialize`: discovery, the tool list and tool calls each carry their `_meta`. A charge asks the human by
 * multi round-trip (input_required, then a retry with the answer and the signed requestState), and the ModelsLab
 * emulator in this process is the ground truth of what was charged.
 */

let stripe: StripeEmulator;
let modelslab: ModelslabEmulator;
let place: Place;
let client: ModernClient | undefined;
let card = '';

const FORM_AND_URL = { elicitation: { form: {}, url: {} }, roots: {} };

beforeAll(async () => {
  requireTestBin();
  stripe = await startStripeEmulator();
  modelslab = await startModelslabEmulator({
    stripe,
    limits: { 'agent-billing': 100_000, 'agent-general': 100_000 },
  });
  place = await newPlace('atelier-modern-');
  const s = start();
  const saved = await s.call('modelslab_add_payment_method', {
    card: { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '314' },
    make_default: true,
  });
  card = /\((pm_\w+)\)/.exec(textOf(saved))?.[1] ?? '';
  await s.close();
  if (!card) throw new Error(textOf(saved));
}, 60_000);

afterEach(async () => {
  await client?.close();
  client = undefined;
});

afterAll(async () => {
  await place?.remove();
  await Promise.all([modelslab?.close(), stripe?.close()]);
});

function start(): ModernClient {
  return startModernClient(
    place.env({
      MODELSLAB_BASE_URL: modelslab.url,
      STRIPE_API_BASE: stripe.url,
      MODELSLAB_TOKEN: SANDBOX_MODELSLAB_TOKEN,
      ATELIER_PROVIDERS: 'modelslab',
    }),
  );
}

/** Successful wallet charges the emulator booked. */
const charges = () => modelslab.accounts.users[0]!.wallet.filter((w) => w.usecase === 'wallet_fund').length;

const approve = { consent: { action: 'accept', content: { approve: true } } };

/** A fund_wallet call of `amount` that ends with input_required; its state and what it asked. */
async function asked(c: ModernClient, amount: number) {
  const first = await c.call('modelslab_fund_wallet', { amount_usd: amount }, { capabilities: FORM_AND_URL });
  expect(first.resultType).toBe('input_required');
  return first as {
    requestState: string;
    inputRequests: { consent: { method: string; params: { mode: string; message: string } } };
  };
}

describe('a 2026-07-28 client over stdio, against the built bin', () => {
  it('discovers the server, lists the tools and calls one, with no initialize and no request from the bin', async () => {
    client = start();
    const discover = await client.request('server/discover');
    expect(discover.result).toMatchObject({
      resultType: 'complete',
      capabilities: { tools: {}, extensions: { 'io.modelcontextprotocol/tasks': {} } },
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'atelier-mcp' } },
      cacheScope: 'public',
    });
    expect(discover.result?.supportedVersions).toEqual(expect.arrayContaining(['2026-07-28', '2025-11-25']));
    expect(discover.result?.instructions).toMatch(/generate_image/);

    const list = await client.request('tools/list');
    expect(list.result).toMatchObject({ resultType: 'complete', cacheScope: 'private' });
    expect(list.result?.ttlMs).toBeGreaterThan(0);
    const names = (list.result?.tools as Array<{ name: string }>).map((t) => t.name);
    expect(names).toContain('modelslab_fund_wallet');

    const wallet = await client.call('modelslab_wallet', {});
    expect(wallet.resultType).toBe('complete');
    expect(wallet.isError).toBeUndefined();
    expect(textOf(wallet)).toMatch(/^ModelsLab wallet: \$/);

    const missing = await client.request('resources/read', {
      uri: 'atelier://generations/pixelmuse-img_none',
    });
    expect(missing.error?.code).toBe(-32602);

    // The 2026-07-28 era has no server-to-client requests on stdio: everything the bin wrote is an answer.
    expect(client.received.filter((m) => 'method' in m && 'id' in m)).toEqual([]);
    expect(client.stderr()).not.toMatch(/differs/);
  });

  it('answers UnsupportedProtocolVersionError, listing its versions, for a version it does not serve', async () => {
    client = start();
    const answer = await client.request('tools/list', {
      _meta: { 'io.modelcontextprotocol/protocolVersion': '1900-01-01' },
    });
    expect(answer.error?.code).toBe(-32022);
    expect(answer.error?.data).toEqual({
      requested: '1900-01-01',
      supported: expect.arrayContaining(['2026-07-28', '2025-11-25']),
    });
  });

  it('asks for a charge by input_required with the amount, and its retry charges exactly once', async () => {
    client = start();
    const before = charges();
    const first = await asked(client, 12);
    expect(first.inputRequests.consent.method).toBe('elicitation/create');
    expect(first.inputRequests.consent.params.mode).toBe('form');
    expect(first.inputRequests.consent.params.message).toMatch(/Approve a charge of \$12\.00 USD/);
    expect(first).not.toHaveProperty('content');
    expect(charges()).toBe(before);

    const retry = await client.call(
      'modelslab_fund_wallet',
      { amount_usd: 12 },
      { capabilities: FORM_AND_URL, requestState: first.requestState, inputResponses: approve },
    );
    expect(retry.resultType).toBe('complete');
    expect(textOf(retry)).toMatch(/^Funded the ModelsLab wallet with \$12\.00/);
    expect(charges()).toBe(before + 1);

    // The same state again: refused, nothing sent.
    const replay = await client.call(
      'modelslab_fund_wallet',
      { amount_usd: 12 },
      { capabilities: FORM_AND_URL, requestState: first.requestState, inputResponses: approve },
    );
    expect(replay.isError).toBe(true);
    expect(textOf(replay)).toMatch(/already used/);
    expect(charges()).toBe(before + 1);
    const { ledger } = await spendFiles(place.spend);
    expect(ledger.filter((l) => l.amount === 12)).toHaveLength(1);
  });

  it('refuses a tampered state and a state of another call, charging nothing; the untouched state still works', async () => {
    client = start();
    const before = charges();
    const first = await asked(client, 15);
    const [version, body, mac] = first.requestState.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const cheaper = Buffer.from(
      JSON.stringify({ ...payload, charge: { operation: 'x', micros: 1 } }),
    ).toString('base64url');
    const tampered = await client.call(
      'modelslab_fund_wallet',
      { amount_usd: 15 },
      { capabilities: FORM_AND_URL, requestState: `${version}.${cheaper}.${mac}`, inputResponses: approve },
    );
    expect(tampered.isError).toBe(true);
    expect(textOf(tampered)).toMatch(/not issued by this atelier-mcp process.*Nothing was charged/s);

    const otherCall = await client.call(
      'modelslab_fund_wallet',
      { amount_usd: 150 },
      { capabilities: FORM_AND_URL, requestState: first.requestState, inputResponses: approve },
    );
    expect(otherCall.isError).toBe(true);
    expect(textOf(otherCall)).toMatch(/belongs to another call/);
    expect(charges()).toBe(before);
  });

  it('charges nothing when the human declines, or accepts without ticking the box', async () => {
    client = start();
    const before = charges();
    for (const answer of [{ action: 'decline' }, { action: 'accept', content: { approve: false } }]) {
      const first = await asked(client, 11);
      const retry = await client.call(
        'modelslab_fund_wallet',
        { amount_usd: 11 },
        { capabilities: FORM_AND_URL, requestState: first.requestState, inputResponses: { consent: answer } },
      );
      expect(textOf(retry)).toMatch(/^Not charged: the human declined the \$11\.00 charge/);
    }
    expect(charges()).toBe(before);
  });

  it('gives a client without elicitation the quote and confirmation_token, as in the 2025 era', async () => {
    client = start();
    const quote = await client.call('modelslab_fund_wallet', { amount_usd: 13 });
    expect(quote.resultType).toBe('complete');
    expect(textOf(quote)).toMatch(/confirmation_token: ct_/);
  });
});
