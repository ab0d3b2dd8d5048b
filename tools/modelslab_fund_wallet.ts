import * as z from 'zod';
import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import { cardLabel, chosenCard, chargeCard, spendText } from '../src/providers/modelslab/payments.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';
import { confirmation_token, payment_method_id } from './params.js';

export default defineTool({
  name: 'modelslab_fund_wallet',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'Fund the ModelsLab wallet',
  description:
    'Adds amount_usd to the ModelsLab wallet from a saved card; costs that. Asks the human first (a form, or a ' +
    'quote: pass its confirmation_token back with the same arguments). Never charges twice.',
  input: {
    amount_usd: z.number().min(10).max(10_000).describe('USD to add.'),
    payment_method_id,
    confirmation_token,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  movesMoney: true,
  async run({ amount_usd, payment_method_id, confirmation_token }, ctx) {
    const billing = new ModelslabBilling(ctx.modelslab);
    const card = await chosenCard(billing, payment_method_id, ctx.signal);
    const amount = Math.round(amount_usd * 100) / 100;
    const result = await chargeCard(ctx.spend, {
      operation: 'modelslab.wallet.fund',
      tool: 'modelslab_fund_wallet',
      amountUsd: amount,
      args: { amount_usd: amount, payment_method_id: card.id },
      what: `add ${usd(amount)} to the ModelsLab wallet`,
      card,
      confirmationToken: confirmation_token,
      send: (key) => billing.fundWallet({ amount, payment_method_id: card.id }, key, ctx.signal),
    });
    // The documents show no answer for a funded wallet: the balance is read where they do show it.
    const balance =
      result.status === 'done' && result.outcome.value.kind === 'charged'
        ? await ctx.modelslab.walletBalance(ctx.signal).then(
            (b) => Number(b.balance),
            () => NaN,
          )
        : NaN;
    return spendText(
      result,
      () =>
        `Funded the ModelsLab wallet with ${usd(amount)} from ${cardLabel(card)}.` +
        (Number.isFinite(balance) ? ` Balance: ${usd(balance)}.` : ' Call modelslab_wallet for the balance.'),
      { purpose: 'fund', amountUsd: amount },
    );
  },
});
