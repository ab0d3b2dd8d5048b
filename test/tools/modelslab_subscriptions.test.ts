import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { subscriptionList } from '../../src/providers/modelslab/agents.js';
import { SANDBOX_MODELSLAB_TOKEN } from '../../src/sandbox/index.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

function tokenOf(text: string): string {
  const m = /^confirmation_token: (ct_\S+)$/m.exec(text);
  expect(m, text).not.toBeNull();
  return m![1]!;
}

describe('modelslab_list_plans', () => {
  it('lists plans cheapest first with pay-as-you-go terms, filtered by category', async () => {
    h = await startHarness();
    const all = textOf(await h.call('modelslab_list_plans'));
    expect(all).toMatch(
      /^ModelsLab plans, cheapest first:\n- 20: Imagen Starter, \$9\.00\/month, imagen, 1000 calls/,
    );
    expect(all).toContain('Pay as you go: fund the wallet (modelslab_fund_wallet), minimum $10.00');
    const imagen = textOf(await h.call('modelslab_list_plans', { category: 'imagen' }));
    expect(imagen.match(/^- /gm)).toHaveLength(2);
  });
});

describe('modelslab_subscribe and modelslab_manage_subscription', () => {
  it('subscribes after the quote is confirmed, then shows, pauses, resumes and changes the plan', async () => {
    h = await startHarness();
    await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_card_visa' });
    const quote = textOf(await h.call('modelslab_subscribe', { plan_id: 20 }));
    expect(quote).toMatch(
      /^Not charged yet: \$9\.00 USD[\s\S]*What: the ModelsLab plan Imagen Starter \(20\), \$9\.00 per month\./,
    );
    expect(h.modelslab.accounts.users[0]!.subscriptions).toHaveLength(0);
    const done = textOf(
      await h.call('modelslab_subscribe', { plan_id: 20, confirmation_token: tokenOf(quote) }),
    );
    expect(done).toMatch(
      /^Subscribed to Imagen Starter for \$9\.00 from Visa •••• 4242 \(pm_card_visa\)\. Subscription (\d+): active\./,
    );
    // The documented answer names no PaymentIntent: the charge is known by the Stripe subscription it started.
    expect(done).toMatch(/^Charge sub_[0-9a-f]+; /m);

    expect(textOf(await h.call('modelslab_manage_subscription', { action: 'status' }))).toMatch(
      /^Subscription \d+: plan Imagen Starter, active, current period ends \d{4}-/,
    );
    expect(textOf(await h.call('modelslab_manage_subscription', { action: 'pause' }))).toMatch(
      /^Paused\. .*paused.*Nothing was charged\./,
    );
    expect(textOf(await h.call('modelslab_manage_subscription', { action: 'resume' }))).toMatch(
      /^Resumed\. .*active/,
    );
    const resumeAgain = await h.call('modelslab_manage_subscription', { action: 'resume' });
    expect(resumeAgain.isError).toBe(true);
    expect(textOf(resumeAgain)).toMatch(/invalid_state \(HTTP 409[\s\S]*not paused/);

    const change = textOf(
      await h.call('modelslab_manage_subscription', { action: 'change_plan', new_plan_id: 21 }),
    );
    expect(change).toMatch(/^Not charged yet: \$19\.00 USD/);
    const changed = textOf(
      await h.call('modelslab_manage_subscription', {
        action: 'change_plan',
        new_plan_id: 21,
        confirmation_token: tokenOf(change),
      }),
    );
    expect(changed).toMatch(/^Changed to Imagen Pro\. Subscription \d+: plan Imagen Pro, active/);
    const report = textOf(await h.call('spend_report'));
    expect(report).toMatch(/modelslab: \$28\.00 \(2 charges\)/);
    expect(report).toContain('modelslab.subscriptions.create $9.00');
    expect(report).toContain('modelslab.subscriptions.change_plan $19.00');
  });

  it('change_plan sends the documented {new_plan_id} only, and says so when the answer confirms no charge', async () => {
    h = await startHarness();
    await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_card_visa' });
    const quote = textOf(await h.call('modelslab_subscribe', { plan_id: 20 }));
    const done = textOf(
      await h.call('modelslab_subscribe', { plan_id: 20, confirmation_token: tokenOf(quote) }),
    );
    const subId = /Subscription (\d+)/.exec(done)![1]!;
    const withCard = await h.call('modelslab_manage_subscription', {
      action: 'change_plan',
      new_plan_id: 21,
      payment_method_id: 'pm_card_visa',
    });
    expect(withCard.isError).toBe(true);
    expect(textOf(withCard)).toMatch(/takes no payment_method_id[\s\S]*Next: /);

    // The emulator answers a plan change with the documented minimum (no answer is documented): a message.
    const change = textOf(
      await h.call('modelslab_manage_subscription', { action: 'change_plan', new_plan_id: 21 }),
    );
    expect(change).toMatch(/^Not charged yet: \$19\.00 USD/);
    const changed = textOf(
      await h.call('modelslab_manage_subscription', {
        action: 'change_plan',
        new_plan_id: 21,
        confirmation_token: tokenOf(change),
      }),
    );
    const puts = h.modelslab.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(`/${subId}`));
    expect(puts.map((r) => r.body)).toEqual([{ new_plan_id: 21 }]);
    // The subscription is read from its documented status endpoint, not made up from the plan asked for.
    expect(changed).toMatch(
      /^Changed to Imagen Pro\. Subscription \d+: plan Imagen Pro, active, current period ends /,
    );
    const afterPut = h.modelslab.requests.slice(h.modelslab.requests.findIndex((r) => r.method === 'PUT'));
    expect(afterPut.map((r) => `${r.method} ${r.path}`)).toContain(
      `GET /api/agents/v1/subscriptions/${subId}/status`,
    );
    expect(changed).toContain("ModelsLab's answer confirms no immediate charge");
    expect(changed).not.toMatch(/for \$19\.00/);
    // The ledger still books the approved amount (Money: caps and the ledger count what the human approved).
    expect(textOf(await h.call('spend_report'))).toContain('modelslab.subscriptions.change_plan $19.00');
  });

  it('reads GET /subscriptions grouped by kind (as documented) as well as a flat list', async () => {
    h = await startHarness();
    await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_card_visa' });
    const quote = textOf(await h.call('modelslab_subscribe', { plan_id: 20 }));
    await h.call('modelslab_subscribe', { plan_id: 20, confirmation_token: tokenOf(quote) });
    const listed = async () => {
      const res = await fetch(`${h.modelslab.url}/api/agents/v1/subscriptions`, {
        headers: { authorization: `Bearer ${SANDBOX_MODELSLAB_TOKEN}` },
      });
      return ((await res.json()) as { data: unknown }).data;
    };
    expect(Object.keys((await listed()) as object).sort()).toEqual(['addon', 'enterprise', 'normal']);
    expect(textOf(await h.call('account_status'))).toMatch(/- subscription: Imagen Starter, status active/);
    expect(textOf(await h.call('modelslab_manage_subscription', { action: 'status' }))).toMatch(
      /^Subscription \d+: plan Imagen Starter, active/,
    );
    const flat = subscriptionList([{ id: 1, plan_name: 'A' }]);
    expect(flat).toEqual([{ id: 1, plan_name: 'A' }]);
    expect(subscriptionList({ items: [{ id: 2 }] })).toEqual([{ id: 2 }]);
    expect(subscriptionList({ addon: [{ id: 3 }], enterprise: [], normal: [{ id: 4 }] })).toEqual([
      { kind: 'addon', id: 3 },
      { kind: 'normal', id: 4 },
    ]);
  });

  it('a subscription on a card that needs 3-D Secure is refused (402 decline_code) and sends the human to a link', async () => {
    h = await startHarness();
    await h.call('modelslab_add_payment_method', {
      card: { number: '4000002760003184', exp_month: 12, exp_year: 2034, cvc: '731' },
    });
    const quote = textOf(await h.call('modelslab_subscribe', { plan_id: 20 }));
    const result = await h.call('modelslab_subscribe', { plan_id: 20, confirmation_token: tokenOf(quote) });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/payment_declined \(HTTP 402, request req_\w+\)/);
    expect(text).toContain('Decline code: authentication_required.');
    expect(text).toMatch(
      /Next: Nothing was charged: the card needs 3-D Secure[\s\S]*modelslab_create_payment_link/,
    );
    expect(textOf(await h.call('spend_report'))).toMatch(/Spend today \([\d-]+ UTC\): \$0\.00/);
  });

  it('refuses a token quoted for another plan, and names the plan ids when the plan is unknown', async () => {
    h = await startHarness();
    await h.call('modelslab_add_payment_method', { payment_method_id: 'pm_card_visa' });
    const token = tokenOf(textOf(await h.call('modelslab_subscribe', { plan_id: 20 })));
    expect(textOf(await h.call('modelslab_subscribe', { plan_id: 21, confirmation_token: token }))).toMatch(
      /^Not charged: This confirmation_token was quoted for other arguments/,
    );
    expect(textOf(await h.call('modelslab_subscribe', { plan_id: 999 }))).toMatch(
      /^Invalid input: ModelsLab has no plan 999\.\nNext: Call modelslab_list_plans/,
    );
    expect(textOf(await h.call('modelslab_manage_subscription', { action: 'status' }))).toMatch(
      /^Invalid input: The ModelsLab account has no subscription\.\nNext: Call modelslab_subscribe/,
    );
  });

  it('reports a declined subscription payment with its decline code; nothing starts', async () => {
    h = await startHarness({ capabilities: { elicitation: {} } });
    h.client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { approve: true } }));
    await h.call('modelslab_add_payment_method', {
      payment_method_id: 'pm_card_chargeDeclinedInsufficientFunds',
    });
    const result = await h.call('modelslab_subscribe', { plan_id: 10 });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toContain('Decline code: insufficient_funds.');
    expect(h.modelslab.accounts.users[0]!.subscriptions).toHaveLength(0);
  });
});
