import { plural } from '../src/generation/outcome.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'get_pricing',
  toolset: 'billing',
  providers: ['pixelmuse'],
  title: 'Get prices',
  description:
    'What generating costs: Pixelmuse per-model prices in credits and USD (and the MPP price), what a credit is ' +
    'worth, the credit packages. Free; needs no key. Use it before a large batch or when asked about cost.',
  input: {},
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(_args, ctx) {
    const [pricing, packages] = await Promise.all([
      ctx.pixelmuse.getPricing(ctx.signal),
      ctx.pixelmuse.listPackages(ctx.signal),
    ]);
    const models = pricing.models.map(
      (m) =>
        `- ${m.model} (${m.name}): ${plural(m.credit_cost, 'credit')} = $${m.price_usd.toFixed(2)} per image`,
    );
    const packs = packages.map(
      (p) =>
        `- ${p.name} (${p.label}): ${p.credits + p.bonus_credits} credits${p.bonus_credits ? ` (${p.bonus_credits} bonus)` : ''} for $${p.price_usd.toFixed(2)}`,
    );
    return [
      `Pixelmuse pricing (1 credit = $${pricing.usd_per_credit.toFixed(2)}${pricing.updated_at ? `, updated ${pricing.updated_at}` : ''}):`,
      ...models,
      '',
      `MPP (pay per image in USD, no account): the same USD prices, charged per image by generate_image with ` +
        `payment "mpp"; ${ctx.mpp.settings ? 'configured here' : 'not configured here (see account_status)'}.`,
      '',
      'Credit packages (buy with pixelmuse_buy_credits; a human pays on a Stripe page):',
      ...(packs.length ? packs : ['- none offered right now']),
    ].join('\n');
  },
});
