import * as z from 'zod';
import { ModelslabAdmin } from '../src/providers/modelslab/admin.js';
import { amountOf, day, field, money } from '../src/providers/modelslab/admin-text.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_coupon',
  toolset: 'admin',
  providers: ['modelslab'],
  title: 'ModelsLab coupon',
  description:
    'Checks (validate) or redeems a ModelsLab coupon code. Redeeming adds its value to the wallet and charges ' +
    'nothing; the local ledger records it as a credit.',
  input: {
    action: z.enum(['validate', 'redeem']).optional().describe('Default validate.'),
    coupon_code: z.string().min(1).max(64).describe('e.g. SPRING.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ action = 'validate', coupon_code }, ctx) {
    const admin = new ModelslabAdmin(ctx.modelslab);
    const code = coupon_code.trim();
    if (action === 'validate') {
      const c = await admin.validateCoupon(code, ctx.signal);
      return [
        `Coupon ${field(c, 'coupon_code') ?? code} is valid: ${money(amountOf(c, 'amount', 'value'))}${field(c, 'type') ? ` (${field(c, 'type')})` : ''}.`,
        ...(day(c, 'expires_at') ? [`- expires ${day(c, 'expires_at')}`] : []),
        ...(field(c, 'message') ? [`- ModelsLab: "${field(c, 'message')}"`] : []),
        `Next: action redeem adds it to the wallet.`,
      ].join('\n');
    }
    // A billing mutation: its Idempotency-Key is durable, so a lost answer is replayed rather than redeemed twice.
    let sentKey = '';
    const { value: res } = await ctx.spend.once({
      operation: 'modelslab.coupon.redeem',
      args: { coupon_code: code },
      send: (key) => {
        sentKey = key;
        return admin.redeemCoupon(code, key, ctx.signal);
      },
    });
    const data = (res.data ?? {}) as Record<string, unknown>;
    const amount = amountOf(data, 'amount', 'credited', 'value');
    const { added } = await ctx.spend.recordCredit({
      provider: 'modelslab',
      operation: 'modelslab.coupon.redeem',
      // Coupons ModelsLab does not value in its answer are still recorded, at 0: nothing was charged either way.
      amountUsd: amount !== undefined && amount > 0 ? amount : 0,
      reference: field(data, 'transaction_id', 'id') ?? `coupon-${code}-${sentKey.slice(-12)}`,
      description: `coupon ${code}`,
    });
    const balance = amountOf(data, 'balance');
    return [
      `Redeemed coupon ${code}: ${amount !== undefined ? `+${usd(amount)}` : 'value not stated'} in the ModelsLab wallet; nothing was charged.` +
        (balance !== undefined ? ` Balance: ${usd(balance)}.` : ''),
      added
        ? 'Recorded in the local ledger as a credit (spend_report); it counts against no cap.'
        : 'Already in the local ledger (an earlier redemption with the same reference).',
      ...(res.replay ? ['ModelsLab answered from its idempotency cache: redeemed once, not twice.'] : []),
    ].join('\n');
  },
});
