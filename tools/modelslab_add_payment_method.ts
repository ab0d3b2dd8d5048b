import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { ModelslabBilling, type PaymentMethodInfo } from '../src/providers/modelslab/billing.js';
import { cardLabel } from '../src/providers/modelslab/payments.js';
import { StripeClient, type CardInput } from '../src/providers/stripe.js';
import { secretArgument } from '../src/secret-arguments.js';
import { defineTool, type ToolContext } from './define.js';

const TOOL = 'modelslab_add_payment_method';

export default defineTool({
  name: TOOL,
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'Add a card to ModelsLab',
  description:
    'Saves a card on ModelsLab. Free. No arguments: the human types it into a one-time local page and you see ' +
    'brand and last 4. Or attach a payment_method_id.',
  input: {
    card: z
      .object({
        number: z.string().regex(/^[\d -]{12,23}$/),
        exp_month: z.number().int().min(1).max(12),
        exp_year: z.number().int().min(0).max(2100),
        cvc: z.string().regex(/^\d{3,4}$/),
      })
      .optional()
      .describe('Only if the client cannot open a page.'),
    payment_method_id: z
      .string()
      .regex(/^pm_\w+$/)
      .optional()
      .describe('An existing Stripe pm_….'),
    make_default: z.boolean().optional().describe('Default true.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  movesMoney: true,
  async run({ card, payment_method_id, make_default = true }, ctx) {
    if (card && payment_method_id) {
      throw new UserInputError('Give card or payment_method_id, not both.', {
        next: `Call ${TOOL} with payment_method_id alone, or with no arguments so the human types a card.`,
      });
    }
    if (payment_method_id)
      return (await attach(ctx, { id: payment_method_id }, make_default, ctx.signal)).text;
    if (card) {
      const note = secretArgument(ctx, TOOL, 'the card number');
      return `${(await attach(ctx, await tokenize(ctx, card, ctx.signal), make_default, ctx.signal)).text}\n${note}`;
    }
    const [{ askHuman, CARD_FIELDS, readCard }, profile] = await Promise.all([
      import('../src/entry/index.js'),
      ctx.modelslab.profile(ctx.signal),
    ]);
    return askHuman(ctx, {
      tool: TOOL,
      args: { make_default },
      what: 'the card',
      text: {
        title: 'Add a card to ModelsLab',
        provider: 'ModelsLab',
        account: profile.email,
        purpose:
          'Saves a card on your ModelsLab account for wallet top-ups and subscriptions. Nothing is charged now; ' +
          'each charge is asked for separately. The card goes from this page to Stripe only.',
        submit: 'Save card',
      },
      fields: CARD_FIELDS,
      async accept(values, signal) {
        const saved = await attach(ctx, await tokenize(ctx, readCard(values), signal), make_default, signal);
        return { result: saved.text, page: `Saved ${saved.label}. Nothing was charged.` };
      },
      otherwise: "call modelslab_create_payment_link so the human pays on Stripe's own page.",
    });
  },
});

/** The card goes to Stripe only, with the publishable key ModelsLab hands out: back comes a pm_…. */
async function tokenize(ctx: ToolContext, card: CardInput, signal: AbortSignal): Promise<PaymentMethodInfo> {
  const billing = new ModelslabBilling(ctx.modelslab);
  const stripe = new StripeClient({ baseUrl: ctx.config.stripeApiBase, log: ctx.log });
  return stripe.createCardPaymentMethod(await billing.publishableKey(signal), card, signal);
}

async function attach(
  ctx: ToolContext,
  pm: PaymentMethodInfo,
  makeDefault: boolean,
  signal: AbortSignal,
): Promise<{ text: string; label: string }> {
  const billing = new ModelslabBilling(ctx.modelslab);
  await ctx.spend.once({
    operation: 'modelslab.payment_methods.attach',
    args: { pm: pm.id, make_default: makeDefault },
    send: (key) => billing.attachPaymentMethod(pm.id, makeDefault, key, signal),
  });
  const saved = (await billing.paymentMethods(signal)).find((m) => m.id === pm.id) ?? pm;
  const label = cardLabel(saved);
  return {
    label,
    text: [
      `Saved ${label}${(saved.is_default ?? makeDefault) ? ' as the default card' : ''}. Nothing was charged.`,
      'Use it with modelslab_fund_wallet or modelslab_subscribe (they ask for approval before charging).',
    ].join('\n'),
  };
}
