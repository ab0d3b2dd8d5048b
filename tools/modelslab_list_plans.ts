import * as z from 'zod';
import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_list_plans',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'ModelsLab plans',
  description:
    'ModelsLab plans (id, price, period, limits), cheapest first, and the pay-as-you-go wallet terms. Free. Use ' +
    'before modelslab_subscribe.',
  input: {
    category: z.string().min(1).optional().describe('Only this category, e.g. imagen or normal.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ category }, ctx) {
    const answer = await new ModelslabBilling(ctx.modelslab).plans(ctx.signal);
    const plans = answer.subscription_plans
      .filter((p) => !category || p.category === category)
      .sort((a, b) => Number(a.price) - Number(b.price));
    const lines = [`ModelsLab plans${category ? ` (${category})` : ''}, cheapest first:`];
    for (const p of plans) {
      lines.push(
        `- ${p.id}: ${p.name}, ${usd(Number(p.price))}/${p.period === 'yearly' ? 'year' : 'month'}` +
          `${p.category ? `, ${p.category}` : ''}` +
          `${p.api_call_limit ? `, ${p.api_call_limit} calls` : p.api_call_limit === null ? ', unlimited calls' : ''}` +
          `${p.rate_limit ? `, ${p.rate_limit} req/s` : ''}` +
          `${p.features?.length ? ` (${p.features.slice(0, 3).join('; ')})` : ''}`,
      );
    }
    if (plans.length === 0)
      lines.push(
        `- none${category ? `; categories: ${[...new Set(answer.subscription_plans.map((p) => p.category))].join(', ')}` : ''}`,
      );
    const payg = answer.pay_as_you_go;
    if (payg?.available !== false) {
      lines.push(
        '',
        `Pay as you go: fund the wallet (modelslab_fund_wallet), minimum ${usd(Number(payg?.minimum_topup_usd ?? 10))}` +
          `${payg?.description ? `; ${payg.description}` : ''}`,
      );
    }
    lines.push('Subscribe with modelslab_subscribe {plan_id}; it asks for approval before charging.');
    return lines.join('\n');
  },
});
