import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import {
  cardLabel,
  chosenCard,
  findPlan,
  chargeCard,
  spendText,
} from '../src/providers/modelslab/payments.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';
import { confirmation_token, payment_method_id, plan_id } from './params.js';

export default defineTool({
  name: 'modelslab_subscribe',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'Subscribe to a ModelsLab plan',
  description:
    'Starts a ModelsLab plan, charging its price to a saved card. Asks the human first (a form, or a quote: pass ' +
    'its confirmation_token back with the same arguments). Never charges twice.',
  input: { plan_id, payment_method_id, confirmation_token },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  movesMoney: true,
  async run({ plan_id, payment_method_id, confirmation_token }, ctx) {
    const billing = new ModelslabBilling(ctx.modelslab);
    const [plan, card] = await Promise.all([
      findPlan(billing, plan_id, ctx.signal),
      chosenCard(billing, payment_method_id, ctx.signal),
    ]);
    const price = Number(plan.price);
    const result = await chargeCard(ctx.spend, {
      operation: 'modelslab.subscriptions.create',
      tool: 'modelslab_subscribe',
      amountUsd: price,
      args: { plan_id, payment_method_id: card.id, price },
      what: `the ModelsLab plan ${plan.name} (${plan.id}), ${usd(price)} per ${plan.period === 'yearly' ? 'year' : 'month'}`,
      card,
      confirmationToken: confirmation_token,
      send: (key) => billing.subscribe({ plan_id, payment_method_id: card.id }, key, ctx.signal),
    });
    return spendText(
      result,
      (answer) => {
        const sub = answer.data.subscription as Record<string, unknown> | undefined;
        return (
          `Subscribed to ${plan.name} for ${usd(price)} from ${cardLabel(card)}.` +
          (sub
            ? ` Subscription ${String(sub.id)}: ${String(sub.status ?? answer.data.status ?? 'active')}.`
            : '') +
          ' Manage it with modelslab_manage_subscription.'
        );
      },
      { purpose: 'subscribe', amountUsd: price, planId: plan_id },
    );
  },
});
