import * as z from 'zod';
import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_wallet',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'ModelsLab wallet',
  description:
    'The ModelsLab wallet: balance, totals credited and used, its transactions newest first, with paging. Free. ' +
    'Use it to see what a charge did.',
  input: {
    type: z.enum(['credit', 'debit']).optional().describe('Only credits or only debits.'),
    limit: z.number().int().min(1).max(200).optional().describe('Transactions to show (default 20).'),
    offset: z.number().int().min(0).optional().describe('Skip this many (paging).'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ type, limit = 20, offset = 0 }, ctx) {
    const billing = new ModelslabBilling(ctx.modelslab);
    const [balance, history] = await Promise.all([
      ctx.modelslab.walletBalance(ctx.signal),
      billing.transactions({ type, limit, offset }, ctx.signal),
    ]);
    const items = Array.isArray(history.items) ? (history.items as Array<Record<string, unknown>>) : [];
    const wallet = history.wallet as { total_credited?: number; amount_used?: number } | undefined;
    const total = Number(history.total);
    const lines = [
      `ModelsLab wallet: ${usd(Number(balance.balance))} ${balance.currency ?? 'USD'}` +
        (wallet?.total_credited !== undefined
          ? ` (credited ${usd(Number(wallet.total_credited))}, used ${usd(Number(wallet.amount_used ?? 0))})`
          : '') +
        '.',
    ];
    if (items.length === 0) lines.push('No transactions' + (type ? ` of type ${type}` : '') + '.');
    else {
      lines.push(
        `Transactions ${offset + 1}-${offset + items.length}${Number.isFinite(total) ? ` of ${total}` : ''}:`,
      );
      for (const t of items) {
        lines.push(
          `- ${String(t.created_at ?? '')} ${t.type === 'debit' ? '-' : '+'}${usd(Number(t.amount))} ` +
            `${String(t.usecase ?? t.source ?? '')} (${String(t.status ?? '')}, ${String(t.transaction_id ?? t.id)})`,
        );
      }
      if (Number.isFinite(total) && offset + items.length < total) {
        lines.push(`More: call again with offset ${offset + items.length}.`);
      }
    }
    return lines.join('\n');
  },
});
