import * as z from 'zod';
import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_payment_status',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'ModelsLab payment status',
  description:
    "A 3-D Secure payment's status (succeeded, pending, failed) by payment_intent_id; a success is recorded in " +
    'the ledger. Free.',
  input: {
    payment_intent_id: z
      .string()
      .regex(/^pi_\w+$/)
      .describe('pi_… from the fund or subscribe result.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ payment_intent_id }, ctx) {
    const data = await new ModelslabBilling(ctx.modelslab).paymentStatus(payment_intent_id, ctx.signal);
    const status = String(data.status ?? 'unknown');
    const amount = Number(data.amount);
    const lines = [
      `PaymentIntent ${payment_intent_id}: ${status}${Number.isFinite(amount) ? `, ${usd(amount)} ${String(data.currency ?? 'usd').toUpperCase()}` : ''}.`,
    ];
    if (status === 'succeeded' || status === 'failed') {
      const resolved = await ctx.spend.resolvePending(payment_intent_id, status === 'succeeded');
      if (resolved?.entry) lines.push(`Recorded in the local ledger: ${resolved.pending.description}.`);
      else if (resolved) lines.push('It no longer counts against the daily cap; nothing was charged.');
    } else if (status === 'pending' || status === 'requires_action') {
      lines.push(
        'A human still has to complete 3-D Secure. Nothing is charged until they do; check again later.',
      );
    }
    return lines.join('\n');
  },
});
