import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const linkOf = (text: string) => {
  const url = /^(http\S+\/sandbox\/checkout\/(cs_test_\w+))$/m.exec(text);
  expect(url, text).not.toBeNull();
  return { url: url![1]!, session: url![2]! };
};

/** What the human does: open the page, press Pay. */
async function pay(url: string): Promise<string> {
  const page = await (await fetch(url)).text();
  const action = /<form method="post" action="([^"]+)"/.exec(page)?.[1];
  expect(action, page).toBeDefined();
  return (await fetch(new URL(action!, url), { method: 'POST' })).text();
}

describe('modelslab_confirm_checkout books what the link asked, not what the answer says', () => {
  const confirmPath = '/api/agents/v1/wallet/confirm-checkout';
  const ledgerOf = async () =>
    (await readFile(join(h.home, 'spend', 'ledger.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it.each([-1000, 0, 1e9, '1e9', 'abc', undefined])(
    'books the $25 link at $25 when the answer says %s',
    async (reported) => {
      h = await startHarness();
      const { url, session } = linkOf(
        textOf(await h.call('modelslab_create_payment_link', { purpose: 'fund', amount_usd: 25 })),
      );
      await pay(url);
      h.modelslab.inject({
        path: confirmPath,
        rewrite: (body) => ({ ...body, data: { ...(body.data as object), amount: reported } }),
      });
      const paid = textOf(
        await h.call('modelslab_confirm_checkout', { purpose: 'fund', session_id: session }),
      );
      expect(paid).toMatch(/^Paid: \$25\.00 via checkout/);
      const [line] = await ledgerOf();
      expect(line).toMatchObject({ amount: 25, reference: session });
      expect(textOf(await h.call('spend_report'))).toMatch(/Spend today \([\d-]+ UTC\): \$25\.00/);
    },
  );

  it('a checkout this server did not create is booked at the amount stated only if it is one', async () => {
    h = await startHarness();
    const { url, session } = linkOf(
      textOf(await h.call('modelslab_create_payment_link', { purpose: 'fund', amount_usd: 25 })),
    );
    await pay(url);
    await rm(join(h.home, 'spend', 'links'), { recursive: true });
    h.modelslab.inject({
      path: confirmPath,
      rewrite: (body) => ({ ...body, data: { ...(body.data as object), amount: -1000 } }),
    });
    const refused = await h.call('modelslab_confirm_checkout', { purpose: 'fund', session_id: session });
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/not created by this server .* no usable amount \(-1000\)/);
    expect(await ledgerOf()).toHaveLength(0);
    // The emulator answers the documented minimum (no amount): an answer that states a usable one is booked.
    h.modelslab.inject({
      path: confirmPath,
      rewrite: (body) => ({ ...body, data: { ...(body.data as object), amount: 25 } }),
    });
    const booked = textOf(
      await h.call('modelslab_confirm_checkout', { purpose: 'fund', session_id: session }),
    );
    expect(booked).toMatch(/^Paid: \$25\.00/);
  });
});

describe('modelslab_create_payment_link and modelslab_confirm_checkout', () => {
  it('gives the human a link; confirm says not paid until Pay is pressed, then credits and records once', async () => {
    h = await startHarness();
    const text = textOf(await h.call('modelslab_create_payment_link', { purpose: 'fund', amount_usd: 25 }));
    expect(text).toMatch(
      /^PAYMENT LINK \(a human must open it and pay \$25\.00: add \$25\.00 to the ModelsLab wallet\):/,
    );
    const { url, session } = linkOf(text);
    expect(text).toContain(
      `modelslab_confirm_checkout {purpose: "fund", session_id: "${session}", wait_seconds: 120}`,
    );

    const early = textOf(
      await h.call('modelslab_confirm_checkout', { purpose: 'fund', session_id: session }),
    );
    expect(early).toMatch(/^NOT PAID YET: checkout cs_test_\w+ has not been paid\./);
    expect(early).toMatch(/ModelsLab answered HTTP 400, bad_request, request req_\w+: "/);
    expect(early).toContain('any refusal but an auth error is read as "not paid yet"');
    expect(early).toMatch(/\nNext: /);
    expect(h.modelslab.accounts.users[0]!.walletUsd).toBe(25);

    expect(await pay(url)).toContain('Payment complete');
    const paid = textOf(await h.call('modelslab_confirm_checkout', { purpose: 'fund', session_id: session }));
    expect(paid).toBe(
      `Paid: $25.00 via checkout ${session}.\nModelsLab wallet balance: $50.00.\nRecorded in the local ledger (spend_report).`,
    );
    const again = textOf(
      await h.call('modelslab_confirm_checkout', { purpose: 'fund', session_id: session }),
    );
    expect(again).toContain('Already in the local ledger: not counted twice.');
    expect(h.modelslab.accounts.users[0]!.walletUsd).toBe(50);
    const lines = (await readFile(join(h.home, 'spend', 'ledger.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      operation: 'modelslab.checkout.fund',
      reference: session,
      amount: 25,
    });
  });

  it('an auth error while confirming is an error, not "not paid yet"', async () => {
    h = await startHarness();
    const { session } = linkOf(
      textOf(await h.call('modelslab_create_payment_link', { purpose: 'fund', amount_usd: 25 })),
    );
    h.modelslab.inject({
      path: '/api/agents/v1/wallet/confirm-checkout',
      status: 403,
      body: {
        data: null,
        error: { code: 'forbidden', message: 'Forbidden.' },
        meta: { request_id: 'req_f1' },
      },
    });
    const result = await h.call('modelslab_confirm_checkout', { purpose: 'fund', session_id: session });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/forbidden \(HTTP 403, request req_f1\)[\s\S]*Next: /);
  });

  it('waits with progress until the human pays', async () => {
    h = await startHarness();
    const { url, session } = linkOf(
      textOf(await h.call('modelslab_create_payment_link', { purpose: 'subscribe', plan_id: 20 })),
    );
    const progress: string[] = [];
    const waiting = h.call(
      'modelslab_confirm_checkout',
      { purpose: 'subscribe', session_id: session, wait_seconds: 60 },
      { onprogress: (p) => progress.push(String(p.message)) },
    );
    // Pay only once the tool has seen the checkout unpaid at least once.
    while (!h.modelslab.requests.some((r) => r.path === '/api/agents/v1/subscriptions/confirm-checkout')) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await pay(url);
    const text = textOf(await waiting);
    expect(text).toMatch(
      /^Paid: \$9\.00 via checkout cs_test_\w+\.\nSubscription \d+: plan Imagen Starter, active\./,
    );
    expect(progress.some((m) => /not paid yet; checking again in \d+ s/.test(m))).toBe(true);
  });

  it('opens the link with URL elicitation when the client supports it', async () => {
    h = await startHarness({ capabilities: { elicitation: { form: {}, url: {} } } });
    const opened: Array<{ mode?: string; url?: string }> = [];
    h.client.setRequestHandler(ElicitRequestSchema, (req) => {
      opened.push(req.params as { mode?: string; url?: string });
      return { action: 'accept' };
    });
    const text = textOf(await h.call('modelslab_create_payment_link', { purpose: 'fund', amount_usd: 10 }));
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({ mode: 'url', url: linkOf(text).url });
    expect(text).toContain('The link was opened for the human in the client.');
  });

  it('refuses a link above the caps', async () => {
    h = await startHarness({ config: { maxUsdPerCall: 20 } });
    const result = await h.call('modelslab_create_payment_link', { purpose: 'fund', amount_usd: 25 });
    expect(textOf(result)).toMatch(/^Not charged: \$25\.00 is above the per-call cap/);
    expect(h.modelslab.requests.some((r) => r.path.endsWith('/billing/payment-link'))).toBe(false);
  });
});

describe('modelslab_wallet', () => {
  it('shows the balance and the transactions, with paging', async () => {
    h = await startHarness({ config: { autoApproveUsd: 50 } });
    await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_card_visa' });
    await h.call('modelslab_fund_wallet', { amount_usd: 10 });
    await h.call('modelslab_fund_wallet', { amount_usd: 15 });
    const text = textOf(await h.call('modelslab_wallet', { limit: 2 }));
    expect(text).toMatch(
      /^ModelsLab wallet: \$50\.00 USD \(credited \$50\.00, used \$0\.00\)\.\nTransactions 1-2 of 3:\n- \S+ \+\$15\.00 wallet_fund/,
    );
    expect(text).toContain('More: call again with offset 2.');
    expect(textOf(await h.call('modelslab_wallet', { type: 'debit' }))).toContain(
      'No transactions of type debit.',
    );
  });
});
