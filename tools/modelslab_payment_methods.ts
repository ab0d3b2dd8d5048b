import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import { cardLabel, NO_CARD_NEXT } from '../src/providers/modelslab/payments.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_payment_methods',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'ModelsLab saved cards',
  description:
    'Lists the cards saved on ModelsLab (brand, last 4, expiry, which is the default), sets the default card, or ' +
    'removes one. Free.',
  input: {
    action: z.enum(['list', 'set_default', 'remove']).optional().describe('Default list.'),
    payment_method_id: z
      .string()
      .regex(/^pm_\w+$/)
      .optional()
      .describe('The card, for set_default and remove.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async run({ action = 'list', payment_method_id }, ctx) {
    const billing = new ModelslabBilling(ctx.modelslab);
    let done = '';
    if (action !== 'list') {
      if (!payment_method_id) {
        throw new UserInputError(`${action} needs payment_method_id.`, {
          next: 'Call with action "list" to see the ids.',
        });
      }
      await ctx.spend.once({
        operation: `modelslab.payment_methods.${action}`,
        args: { pm: payment_method_id },
        send: (key) =>
          action === 'set_default'
            ? billing.setDefaultPaymentMethod(payment_method_id, key, ctx.signal)
            : billing.removePaymentMethod(payment_method_id, key, ctx.signal),
      });
      done =
        action === 'remove'
          ? `Removed ${payment_method_id}.`
          : `${payment_method_id} is now the default card.`;
    }
    const methods = await billing.paymentMethods(ctx.signal);
    const lines = methods.map(
      (m) =>
        `- ${cardLabel(m)}${m.exp_month ? `, expires ${String(m.exp_month).padStart(2, '0')}/${m.exp_year}` : ''}` +
        `${m.is_default ? ' (default)' : ''}`,
    );
    return [
      ...(done ? [done] : []),
      methods.length ? `Saved cards (${methods.length}):` : `No saved cards. ${NO_CARD_NEXT}`,
      ...lines,
    ].join('\n');
  },
});
