import * as z from 'zod';
import { defineTool } from './define.js';

export default defineTool({
  name: 'pixelmuse_buy_credits',
  toolset: 'billing',
  providers: ['pixelmuse'],
  title: 'Buy Pixelmuse credits',
  description:
    'A Stripe checkout link for a Pixelmuse credit package (credit_pack: 100 credits for $10; see get_pricing). ' +
    'Charges nothing itself: a human pays at the link; account_status then shows the credits. Use it when a ' +
    'generation failed for lack of credits.',
  input: {
    package: z.string().min(1).optional().describe('Package name from get_pricing (default credit_pack).'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  movesMoney: true,
  async run(args, ctx) {
    // The price is known before the checkout exists: a link the caps forbid is never created.
    const pkg = await ctx.pixelmuse.findPackage(args.package ?? 'credit_pack', ctx.signal);
    // The human pays by hand, which is their consent; the caps still bound what this server sets up.
    await ctx.spend.checkCaps(pkg.price_usd);
    const checkout = await ctx.pixelmuse.createCheckout(pkg.name, ctx.signal);
    const p = checkout.package;
    return [
      `Checkout for ${p.label}: ${p.credits + p.bonus_credits} credits for $${p.price_usd.toFixed(2)}.`,
      `Open this link in a browser to pay (nothing is charged until a human pays there): ${checkout.checkout_url}`,
      `Session ${checkout.session_id}${checkout.expires_at ? `, expires ${checkout.expires_at}` : ''}.`,
      'Credits are added automatically after payment; call account_status to see the new balance.',
    ].join('\n');
  },
});
