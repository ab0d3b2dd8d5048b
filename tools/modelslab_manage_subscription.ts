import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import { findPlan, chargeCard, showsPayment, spendText } from '../src/providers/modelslab/payments.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';
import { confirmation_token, payment_method_id } from './params.js';

export default defineTool({
  name: 'modelslab_manage_subscription',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'Manage a ModelsLab subscription',
  description:
    'status, pause, resume (free) or change_plan (charges the new plan, with approval as in modelslab_subscribe). ' +
    'No cancel exists.',
  input: {
    action: z.enum(['status', 'pause', 'resume', 'change_plan']),
    subscription_id: z.string().min(1).optional().describe('Default: the only one.'),
    new_plan_id: z.number().int().positive().optional().describe('For change_plan.'),
    payment_method_id,
    confirmation_token,
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  movesMoney: true,
  async run({ action, subscription_id, new_plan_id, payment_method_id, confirmation_token }, ctx) {
    const billing = new ModelslabBilling(ctx.modelslab);
    const id = subscription_id ?? (await onlySubscription());
    // The documented status names the plan by id only: its name comes from the plan list.
    const describe = async (s: Record<string, unknown>) => {
      const plan =
        s.plan_name ??
        (await findPlan(billing, Number(s.plan_id), ctx.signal).then(
          (p) => p.name,
          () => s.plan_id,
        ));
      return (
        `Subscription ${String(s.id ?? id)}: plan ${String(plan)}, ${String(s.status)}` +
        (s.current_period_end ? `, current period ends ${String(s.current_period_end)}` : '') +
        '.'
      );
    };

    if (action === 'status') return describe(await billing.subscriptionStatus(id, ctx.signal));
    if (action === 'pause' || action === 'resume') {
      const { value: data } = await ctx.spend.once({
        operation: `modelslab.subscriptions.${action}`,
        args: { id },
        send: (key) => billing.setPaused(id, action === 'pause', key, ctx.signal),
      });
      const sub =
        (data.subscription as Record<string, unknown> | undefined) ??
        (await billing.subscriptionStatus(id, ctx.signal));
      return `${action === 'pause' ? 'Paused' : 'Resumed'}. ${await describe(sub)} Nothing was charged.`;
    }
    if (new_plan_id === undefined) {
      throw new UserInputError('change_plan needs new_plan_id.', {
        next: 'Call modelslab_list_plans for the plan ids.',
      });
    }
    if (payment_method_id !== undefined) {
      throw new UserInputError('change_plan takes no payment_method_id.', {
        facts: [
          "ModelsLab's documented plan change sends only the new plan: the subscription's card on file pays it.",
        ],
        next: 'Call again without payment_method_id.',
      });
    }
    const plan = await findPlan(billing, new_plan_id, ctx.signal);
    const price = Number(plan.price);
    // Consent and caps are at the new plan's full price: no immediate charge is documented, but none is excluded.
    const result = await chargeCard(ctx.spend, {
      operation: 'modelslab.subscriptions.change_plan',
      tool: 'modelslab_manage_subscription',
      amountUsd: price,
      args: { action, subscription_id: id, new_plan_id, price },
      what: `changing subscription ${id} to the ModelsLab plan ${plan.name} (${plan.id}), up to ${usd(price)}`,
      card: "the subscription's card on file at ModelsLab",
      confirmationToken: confirmation_token,
      send: (key) => billing.changePlan(id, { new_plan_id }, key, ctx.signal),
    });
    // The documents show no answer for a plan change: the subscription is read where they do show it.
    const sub =
      result.status === 'done' && result.outcome.value.kind === 'charged'
        ? await describe(
            (result.outcome.value.data.subscription as Record<string, unknown> | undefined) ??
              (await billing
                .subscriptionStatus(id, ctx.signal)
                .catch(() => ({ id, plan_id: new_plan_id, status: 'status not read' }))),
          )
        : '';
    return spendText(
      result,
      (answer) => {
        if (showsPayment(answer)) return `Changed to ${plan.name} for ${usd(price)}. ${sub}`;
        return [
          `Changed to ${plan.name}. ${sub}`,
          "ModelsLab's answer confirms no immediate charge (none is documented for a plan change; the difference " +
            'may be billed with the next invoice). The ledger books the approved ' +
            `${usd(price)}, the most this change was approved to cost.`,
        ].join('\n');
      },
      { purpose: 'subscribe', amountUsd: price, planId: new_plan_id },
    );

    async function onlySubscription(): Promise<string> {
      const subs = await ctx.modelslab.subscriptions(ctx.signal);
      const live = subs.filter((s) => s.status !== 'canceled');
      if (live.length === 1) return String(live[0]!.id);
      throw new UserInputError(
        live.length === 0
          ? 'The ModelsLab account has no subscription.'
          : `The account has ${live.length} subscriptions; say which.`,
        {
          facts: live.map(
            (s) => `- ${String(s.id)}: plan ${String(s.plan_name ?? s.plan_id)}, ${String(s.status)}`,
          ),
          next:
            live.length === 0 ? 'Call modelslab_subscribe to start one.' : 'Call again with subscription_id.',
        },
      );
    }
  },
});
