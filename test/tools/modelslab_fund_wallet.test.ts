import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const VISA = { number: '4242 4242 4242 4242', exp_month: 12, exp_year: 2034, cvc: '731' };
const DECLINES = { ...VISA, number: '4000000000000002' };
const NEEDS_3DS = { ...VISA, number: '4000002760003184' };

function tokenOf(text: string): string {
  const m = /^confirmation_token: (ct_\S+)$/m.exec(text);
  expect(m, text).not.toBeNull();
  return m![1]!;
}

async function addCard(card = VISA): Promise<string> {
  const text = textOf(await h.call('modelslab_add_payment_method', { card }));
  const pm = /\((pm_\w+)\)/.exec(text)?.[1];
  expect(pm, text).toBeDefined();
  return pm!;
}

const balance = () => h.modelslab.accounts.users[0]!.walletUsd;
const fundRequests = () => h.modelslab.requests.filter((r) => r.path === '/api/agents/v1/wallet/fund');
const ledger = async () =>
  (await readFile(join(h.home, 'spend', 'ledger.jsonl'), 'utf8').catch(() => ''))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('modelslab_fund_wallet without elicitation: quote, then the token', () => {
  it('quotes, charges once on the confirmed call, and answers "already done" to the same token', async () => {
    h = await startHarness();
    const pm = await addCard();
    const quote = await h.call('modelslab_fund_wallet', { amount_usd: 25 });
    const text = textOf(quote);
    expect(quote.isError).toBeFalsy();
    expect(text).toContain('Not charged yet: $25.00 USD');
    expect(text).toContain(`Visa •••• 4242 (${pm})`);
    expect(fundRequests()).toHaveLength(0);

    const token = tokenOf(text);
    const done = textOf(await h.call('modelslab_fund_wallet', { amount_usd: 25, confirmation_token: token }));
    expect(done).toMatch(
      /Funded the ModelsLab wallet with \$25\.00 from Visa •••• 4242 .* Balance: \$50\.00\./,
    );
    expect(done).toMatch(
      /Charge pi_\w+; confirmed with a quoted confirmation_token; recorded in the local ledger/,
    );
    expect(balance()).toBe(50);

    const again = textOf(
      await h.call('modelslab_fund_wallet', { amount_usd: 25, confirmation_token: token }),
    );
    expect(again).toContain('Already done');
    expect(balance()).toBe(50);
    expect(fundRequests()).toHaveLength(1);
    // The key went out with the request, and only a digest of it is in the ledger.
    expect(fundRequests()[0]!.headers['idempotency-key']).toMatch(/^atelier-modelslab-wallet-fund-/);
    const lines = await ledger();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      provider: 'modelslab',
      operation: 'modelslab.wallet.fund',
      amount: 25,
      currency: 'USD',
      replay: false,
    });
    expect(String(lines[0]!.reference)).toMatch(/^pi_/);

    const report = textOf(await h.call('spend_report'));
    expect(report).toMatch(/modelslab: \$25\.00 \(1 charge\)/);
  });

  it('charges once when the confirmed call is sent twice at the same time', async () => {
    h = await startHarness();
    await addCard();
    const token = tokenOf(textOf(await h.call('modelslab_fund_wallet', { amount_usd: 25 })));
    const results = await Promise.all([
      h.call('modelslab_fund_wallet', { amount_usd: 25, confirmation_token: token }),
      h.call('modelslab_fund_wallet', { amount_usd: 25, confirmation_token: token }),
    ]);
    expect(results.map((r) => r.isError ?? false)).toEqual([false, false]);
    expect(results.map(textOf).filter((t) => t.startsWith('Funded'))).toHaveLength(1);
    expect(balance()).toBe(50);
    expect(await ledger()).toHaveLength(1);
  });

  it('refuses a token reused with other arguments, before anything is sent', async () => {
    h = await startHarness();
    await addCard();
    const token = tokenOf(textOf(await h.call('modelslab_fund_wallet', { amount_usd: 25 })));
    const other = await h.call('modelslab_fund_wallet', { amount_usd: 30, confirmation_token: token });
    expect(other.isError).toBe(true);
    expect(textOf(other)).toMatch(/^Not charged: This confirmation_token was quoted for other arguments/);
    expect(textOf(other)).toMatch(/Next: Call modelslab_fund_wallet without confirmation_token/);
    expect(fundRequests()).toHaveLength(0);
    expect(balance()).toBe(25);
  });

  it('refuses over the per-call cap before quoting, and keeps to the daily cap', async () => {
    h = await startHarness({ config: { maxUsdPerCall: 20, maxUsdPerDay: 30, autoApproveUsd: 20 } });
    await addCard();
    const big = await h.call('modelslab_fund_wallet', { amount_usd: 25 });
    expect(textOf(big)).toMatch(
      /^Not charged: \$25\.00 is above the per-call cap ATELIER_MAX_USD_PER_CALL \(\$20\.00\)/,
    );
    expect(textOf(await h.call('modelslab_fund_wallet', { amount_usd: 20 }))).toMatch(/^Funded/);
    const second = await h.call('modelslab_fund_wallet', { amount_usd: 15 });
    expect(textOf(second)).toMatch(
      /would pass the daily cap ATELIER_MAX_USD_PER_DAY \(\$30\.00\): \$20\.00 spent today/,
    );
    expect(fundRequests()).toHaveLength(1);
  });

  it('holds the daily cap under 10 concurrent auto-approved calls', async () => {
    h = await startHarness({ config: { maxUsdPerCall: 15, maxUsdPerDay: 100, autoApproveUsd: 15 } });
    await addCard();
    const results = await Promise.all(
      // Distinct amounts: ten different purchases, not one purchase sent ten times.
      Array.from({ length: 10 }, (_, i) => h.call('modelslab_fund_wallet', { amount_usd: 14 + i / 100 })),
    );
    const funded = results.filter((r) => textOf(r).startsWith('Funded'));
    const refused = results.filter((r) => r.isError && /daily cap/.test(textOf(r)));
    expect(funded.length + refused.length).toBe(10);
    expect(funded).toHaveLength(7);
    const charged = (await ledger()).reduce((s, e) => s + Number(e.amount), 0);
    expect(charged).toBeLessThanOrEqual(100);
    expect(Math.round((balance() - 25) * 100) / 100).toBe(Math.round(charged * 100) / 100);
  });
});

describe('modelslab_fund_wallet outcomes', () => {
  it('says how to add a card when the account has none, before quoting anything', async () => {
    h = await startHarness();
    const result = await h.call('modelslab_fund_wallet', { amount_usd: 25 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Not configured: The ModelsLab account has no saved card\.\nNext: Call modelslab_add_payment_method/,
    );
    expect(fundRequests()).toHaveLength(0);
  });

  it('reports a decline with its code, payment intent and next step, and records nothing', async () => {
    h = await startHarness({ config: { autoApproveUsd: 50 } });
    await addCard(DECLINES);
    const result = await h.call('modelslab_fund_wallet', { amount_usd: 25 });
    const text = textOf(result);
    expect(result.isError).toBe(true);
    expect(text).toMatch(/^ModelsLab refused the request: payment_declined \(HTTP 402/);
    expect(text).toContain('Decline code: generic_decline.');
    expect(text).toMatch(/payment_intent_id: pi_\w+\./);
    expect(text).toMatch(/Next: Nothing was charged\. Use another card/);
    expect(balance()).toBe(25);
    expect(await ledger()).toHaveLength(0);
  });

  it('hands a 3-D Secure payment to a human and records it only once it succeeded', async () => {
    h = await startHarness({ config: { autoApproveUsd: 50 } });
    await addCard(NEEDS_3DS);
    const text = textOf(await h.call('modelslab_fund_wallet', { amount_usd: 25 }));
    expect(text).toMatch(/^NOT CHARGED YET: the card needs 3-D Secure/);
    const pi = /^payment_intent_id: (pi_\w+)$/m.exec(text)?.[1];
    expect(pi).toBeDefined();
    expect(text).toContain('modelslab_create_payment_link {purpose: "fund", amount_usd: 25}');
    expect(text).toContain(`modelslab_payment_status {payment_intent_id: "${pi}"}`);
    expect(await ledger()).toHaveLength(0);
    expect(textOf(await h.call('account_status'))).toMatch(/\$25\.00 held by payments in progress/);

    expect(textOf(await h.call('modelslab_payment_status', { payment_intent_id: pi }))).toMatch(
      /: pending, \$25\.00 USD\.\nA human still has to complete 3-D Secure/,
    );
    expect(h.modelslab.billing.authenticate(pi!)).toBe(true);
    const after = textOf(await h.call('modelslab_payment_status', { payment_intent_id: pi }));
    expect(after).toContain('succeeded');
    expect(after).toContain('Recorded in the local ledger');
    expect(balance()).toBe(50);
    expect(await ledger()).toMatchObject([{ reference: pi, amount: 25 }]);
    await h.call('modelslab_payment_status', { payment_intent_id: pi });
    expect(await ledger()).toHaveLength(1);
  });
});

describe('modelslab_fund_wallet with form elicitation', () => {
  async function withHuman(answer: {
    action: 'accept' | 'decline' | 'cancel';
    content?: Record<string, unknown>;
  }) {
    h = await startHarness({ capabilities: { elicitation: {} } });
    const asked: string[] = [];
    h.client.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(req.params.message);
      return answer;
    });
    await addCard();
    return asked;
  }

  it('asks the human with the amount, what is bought and the card; charges on approval', async () => {
    const asked = await withHuman({ action: 'accept', content: { approve: true } });
    const text = textOf(await h.call('modelslab_fund_wallet', { amount_usd: 25 }));
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatch(
      /Approve a charge of \$25\.00 USD\?\nWhat: add \$25\.00 to the ModelsLab wallet\.\nPaid with: Visa •••• 4242/,
    );
    expect(text).toMatch(/^Funded/);
    expect(text).toContain('approved by the human in the client');
    expect(balance()).toBe(50);
  });

  it('charges nothing when the human declines, or accepts without ticking approve', async () => {
    await withHuman({ action: 'decline' });
    expect(textOf(await h.call('modelslab_fund_wallet', { amount_usd: 25 }))).toMatch(
      /^Not charged: the human declined/,
    );
    await h.close();
    await withHuman({ action: 'accept', content: { approve: false } });
    expect(textOf(await h.call('modelslab_fund_wallet', { amount_usd: 25 }))).toMatch(/^Not charged/);
    expect(fundRequests()).toHaveLength(0);
    expect(balance()).toBe(25);
  });
});
