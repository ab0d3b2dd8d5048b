import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { ModelslabAdmin } from '../src/providers/modelslab/admin.js';
import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import { cardLabel, chosenCard } from '../src/providers/modelslab/payments.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';
import { confirmation_token, payment_method_id } from './params.js';

const TOOL = 'modelslab_auto_funding';
const OPERATION = 'modelslab.wallet.auto_funding';

export default defineTool({
  name: TOOL,
  toolset: 'admin',
  providers: ['modelslab'],
  title: 'ModelsLab wallet auto-funding',
  description:
    'set: ModelsLab charges amount_usd to a card each time the wallet falls under threshold_usd; asks the human ' +
    'first (a form, or a quote whose confirmation_token you pass back). disable: stops it.',
  input: {
    action: z.enum(['set', 'disable']),
    threshold_usd: z.number().min(1).max(10_000).optional().describe('set: trigger balance.'),
    amount_usd: z.number().min(5).max(10_000).optional().describe('set: USD per top-up.'),
    payment_method_id,
    confirmation_token,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  movesMoney: true,
  async run({ action, threshold_usd, amount_usd, payment_method_id, confirmation_token }, ctx) {
    const admin = new ModelslabAdmin(ctx.modelslab);
    if (action === 'disable') {
      await ctx.spend.once({
        operation: `${OPERATION}.disable`,
        args: {},
        send: (key) => admin.disableAutoFunding(key, ctx.signal),
      });
      await ctx.spend.endStanding(OPERATION);
      return 'Auto-funding is OFF: ModelsLab no longer tops the wallet up by itself.';
    }
    if (threshold_usd === undefined || amount_usd === undefined) {
      throw new UserInputError('set needs threshold_usd and amount_usd.', { next: 'Call again with both.' });
    }
    const card = await chosenCard(new ModelslabBilling(ctx.modelslab), payment_method_id, ctx.signal);
    const amount = Math.round(amount_usd * 100) / 100;
    const threshold = Math.round(threshold_usd * 100) / 100;
    const trigger = `the ModelsLab wallet falls under ${usd(threshold)}`;
    const result = await ctx.spend.charge({
      provider: 'modelslab',
      operation: OPERATION,
      tool: TOOL,
      amountUsd: amount,
      args: { threshold_usd: threshold, amount_usd: amount, payment_method_id: card.id },
      what: `ModelsLab wallet auto-funding (${usd(amount)} per top-up)`,
      paymentMethod: cardLabel(card),
      standing: { trigger },
      confirmationToken: confirmation_token,
      send: async (key) => {
        const res = await admin.setAutoFunding(
          { auto_charge_amount: amount, charge_threshold: threshold, payment_method_id: card.id },
          key,
          ctx.signal,
        );
        return {
          kind: 'authorized',
          reference: res.requestId ?? `auto-funding-${key.slice(-12)}`,
          value: res,
        };
      },
    });
    if (result.status !== 'done') return result.text;
    return [
      `Auto-funding is ON: ModelsLab charges ${usd(amount)} to ${cardLabel(card)} each time ${trigger}.`,
      `Set ${result.outcome.reference}; ${result.consent}. account_status and spend_report show it.`,
      'ModelsLab makes those charges itself: they are not in the local ledger and the daily cap cannot stop them ' +
        '(modelslab_wallet lists them). Turn it off with action disable.',
    ].join('\n');
  },
});
