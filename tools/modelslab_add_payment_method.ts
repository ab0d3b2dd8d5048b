import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { ModelslabBilling, type PaymentMethodInfo } from '../src/providers/modelslab/billing.js';
import { cardLabel } from '../src/providers/modelslab/payments.js';
import { StripeClient } from '../src/providers/stripe.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_add_payment_method',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'Add a card to ModelsLab',
  description:
    'Saves a card on ModelsLab. The card goes only to Stripe; just pm_…, brand and last 4 are kept. Or attach an ' +
    'existing payment_method_id. Free.',
  input: {
    card: z
      .object({
        number: z.string().regex(/^[\d -]{12,23}$/),
        exp_month: z.number().int().min(1).max(12),
        exp_year: z.number().int().min(0).max(2100),
        cvc: z.string().regex(/^\d{3,4}$/),
      })
      .optional()
      .describe('Sent to Stripe only.'),
    payment_method_id: z
      .string()
      .regex(/^pm_\w+$/)
      .optional()
      .describe('Or an existing Stripe pm_….'),
    make_default: z.boolean().optional().describe('Default true.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  movesMoney: true,
  async run({ card, payment_method_id, make_default = true }, ctx) {
    if ((card === undefined) === (payment_method_id === undefined)) {
      throw new UserInputError('Give either card or payment_method_id, not both and not neither.');
    }
    const billing = new ModelslabBilling(ctx.modelslab);
    let pm: { id: string } | undefined = payment_method_id ? { id: payment_method_id } : undefined;
    if (card) {
      const stripe = new StripeClient({ baseUrl: ctx.config.stripeApiBase, log: ctx.log });
      pm = await stripe.createCardPaymentMethod(await billing.publishableKey(ctx.signal), card, ctx.signal);
    }
    await ctx.spend.once({
      operation: 'modelslab.payment_methods.attach',
      args: { pm: pm!.id, make_default },
      send: (key) => billing.attachPaymentMethod(pm!.id, make_default, key, ctx.signal),
    });
    const saved: PaymentMethodInfo =
      (await billing.paymentMethods(ctx.signal)).find((m) => m.id === pm!.id) ?? pm!;
    return [
      `Saved ${cardLabel(saved)}${(saved.is_default ?? make_default) ? ' as the default card' : ''}. Nothing was charged.`,
      'Use it with modelslab_fund_wallet or modelslab_subscribe (they ask for approval before charging).',
    ].join('\n');
  },
});
