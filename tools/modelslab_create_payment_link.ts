import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import { findPlan } from '../src/providers/modelslab/payments.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';
import { plan_id } from './params.js';

export default defineTool({
  name: 'modelslab_create_payment_link',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'ModelsLab payment link for a human',
  description:
    'A Stripe link where a human pays (fund: amount_usd; subscribe: plan_id), when there is no card or it needs ' +
    '3-D Secure. Free. Then modelslab_confirm_checkout.',
  input: {
    purpose: z.enum(['fund', 'subscribe']),
    amount_usd: z.number().min(10).max(10_000).optional().describe('For fund.'),
    plan_id: plan_id.optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  movesMoney: true,
  async run({ purpose, amount_usd, plan_id }, ctx) {
    const billing = new ModelslabBilling(ctx.modelslab);
    let amount: number;
    let what: string;
    let body: { purpose: 'fund'; amount: number } | { purpose: 'subscribe'; plan_id: number };
    if (purpose === 'fund') {
      if (amount_usd === undefined) throw new UserInputError('purpose "fund" needs amount_usd.');
      amount = Math.round(amount_usd * 100) / 100;
      what = `add ${usd(amount)} to the ModelsLab wallet`;
      body = { purpose, amount };
    } else {
      if (plan_id === undefined) {
        throw new UserInputError('purpose "subscribe" needs plan_id.', {
          next: 'Call modelslab_list_plans.',
        });
      }
      const plan = await findPlan(billing, plan_id, ctx.signal);
      amount = Number(plan.price);
      what = `the ModelsLab plan ${plan.name} (${plan.id}), ${usd(amount)}`;
      body = { purpose, plan_id };
    }
    // The human pays by hand, which is their consent; the caps still bound what this server sets up.
    await ctx.spend.checkCaps(amount);
    const { value: link } = await ctx.spend.once({
      operation: 'modelslab.billing.payment_link',
      args: body,
      send: (key) => billing.paymentLink(body, key, ctx.signal),
    });
    await ctx.spend.rememberLink({
      sessionId: link.session_id,
      provider: 'modelslab',
      amountUsd: amount,
      what,
    });
    const opened = ctx.confirm.canOpenUrl()
      ? await ctx.confirm
          .openUrl(`Pay ${usd(amount)} on Stripe: ${what}.`, link.payment_url)
          .catch(() => 'cancel' as const)
      : undefined;
    return [
      `PAYMENT LINK (a human must open it and pay ${usd(amount)}: ${what}):`,
      link.payment_url,
      '',
      opened === 'accept'
        ? 'The link was opened for the human in the client.'
        : 'Show this link to the human and ask them to pay there; nothing is charged until they do.',
      `session_id: ${link.session_id}${link.expires_at ? ` (expires ${link.expires_at})` : ''}`,
      `When they say it is paid, call modelslab_confirm_checkout {purpose: "${purpose}", session_id: "${link.session_id}", wait_seconds: 120}.`,
    ].join('\n');
  },
});
