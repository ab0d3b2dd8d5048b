import * as z from 'zod';
import { sleep } from '../src/http/retry.js';
import { ModelslabBilling } from '../src/providers/modelslab/billing.js';
import { usd } from '../src/spend/index.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_confirm_checkout',
  toolset: 'billing',
  providers: ['modelslab'],
  title: 'Confirm a ModelsLab checkout',
  description:
    'After a human paid a modelslab_create_payment_link link: confirms it (waits up to wait_seconds), shows the ' +
    'new balance or plan, books it in the ledger. Free.',
  input: {
    purpose: z.enum(['fund', 'subscribe']),
    session_id: z
      .string()
      .regex(/^cs_\w+$/)
      .describe('cs_… from the link.'),
    wait_seconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .optional()
      .describe('Wait this long for payment (default 0).'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ purpose, session_id, wait_seconds = 0 }, ctx) {
    const billing = new ModelslabBilling(ctx.modelslab);
    const deadline = Date.now() + wait_seconds * 1000;
    let delayMs = 2_000;
    let answer = await billing.confirmCheckout(purpose, session_id, ctx.signal);
    while (!answer.paid && Date.now() + delayMs <= deadline) {
      const left = Math.ceil((deadline - Date.now()) / 1000);
      ctx.progress(
        `Checkout ${session_id} not paid yet; checking again in ${Math.round(delayMs / 1000)} s (${left} s left).`,
      );
      await sleep(delayMs, ctx.signal);
      delayMs = Math.min(delayMs * 1.5, 10_000);
      answer = await billing.confirmCheckout(purpose, session_id, ctx.signal);
    }
    if (!answer.paid) {
      return [
        `NOT PAID YET: checkout ${session_id} has not been paid${wait_seconds ? ` after waiting ${wait_seconds} s` : ''}.`,
        `${answer.message}. The documents do not say how an unpaid checkout is answered, so any refusal but an ` +
          'auth error is read as "not paid yet".',
        'Next: ask the human to finish paying on the link, then call this again (wait_seconds up to 600 waits for it).',
      ].join('\n');
    }
    const data = answer.data;
    const { entry, added } = await ctx.spend.recordCheckout({
      sessionId: session_id,
      provider: 'modelslab',
      operation: `modelslab.checkout.${purpose}`,
      reportedUsd: data.amount,
      // The documents show no confirm answer, so nothing in it says "confirmed before": one line per session does.
      replay: false,
      description:
        purpose === 'fund'
          ? 'wallet top-up paid by a human on Stripe Checkout'
          : 'subscription paid by a human on Stripe Checkout',
    });
    const lines = [`Paid: ${usd(entry.amount)} via checkout ${session_id}.`];
    if (purpose === 'fund') {
      const balance = Number((await ctx.modelslab.walletBalance(ctx.signal)).balance);
      lines.push(`ModelsLab wallet balance: ${usd(balance)}.`);
    } else {
      // The documents show no confirm answer: without a subscription in it, the newest one listed is the one paid.
      const sub =
        (data.subscription as Record<string, unknown> | undefined) ??
        (await ctx.modelslab.subscriptions(ctx.signal).catch(() => [])).at(-1);
      lines.push(
        sub
          ? `Subscription ${String(sub.id)}: plan ${String(sub.plan_name ?? sub.plan_id)}, ${String(sub.status)}.`
          : 'Subscription active.',
      );
    }
    lines.push(
      added
        ? 'Recorded in the local ledger (spend_report).'
        : 'Already in the local ledger: not counted twice.',
    );
    return lines.join('\n');
  },
});
