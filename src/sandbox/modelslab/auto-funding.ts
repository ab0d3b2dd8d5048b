import type { AdminState } from './admin-state.js';
import type { BillingState } from './billing.js';
import { billingMutations } from './mutations.js';
import { agentsRoute, userOf, validationError, type ModelslabEnv } from './server.js';

/**
 * Auto-funding (billing-and-wallet.mdx: PUT / DELETE /wallet/auto-funding). Body per the hosted MCP and skills:
 * `auto_charge_amount` (at least 5) and `charge_threshold` (at least 1); `payment_method_id` is a documented
 * guess (the "payment method"): a saved card, else the default one. Billing mutations: replayed by key.
 */
export function autoFundingRoutes(admin: AdminState, billing: BillingState) {
  return (env: ModelslabEnv) => {
    const mutation = billingMutations(env, billing.holds);
    return [
      agentsRoute(
        'PUT',
        '/wallet/auto-funding',
        'token',
        'agent-billing',
        mutation((ctx) => {
          const user = userOf(ctx);
          const amount = Number(ctx.body.auto_charge_amount);
          const threshold = Number(ctx.body.charge_threshold);
          const problems: Record<string, string> = {};
          if (typeof ctx.body.auto_charge_amount !== 'number' || !(amount >= 5 && amount <= 10_000))
            problems.auto_charge_amount = 'The auto charge amount must be a number between 5 and 10000.';
          if (typeof ctx.body.charge_threshold !== 'number' || !(threshold >= 1 && threshold <= 10_000))
            problems.charge_threshold = 'The charge threshold must be a number between 1 and 10000.';
          const cards = billing.methods.get(user.id) ?? [];
          const pm = ctx.body.payment_method_id;
          const card =
            pm === undefined ? cards.find((c) => c.isDefault) : cards.find((c) => c.card.id === pm);
          if (!card)
            problems.payment_method_id =
              pm === undefined
                ? 'Add a payment method before turning on auto-funding.'
                : 'The selected payment method id is not a saved card of this account.';
          if (Object.keys(problems).length) throw validationError(problems);
          const settings = {
            auto_charge_amount: Math.round(amount * 100) / 100,
            charge_threshold: Math.round(threshold * 100) / 100,
            payment_method_id: card!.card.id,
            updated_at: new Date(env.now()).toISOString(),
          };
          admin.autoFunding.set(user.id, settings);
          return {
            status: 200,
            data: { message: 'Auto-funding enabled.', auto_funding: { enabled: true, ...settings } },
          };
        }),
      ),
      agentsRoute(
        'DELETE',
        '/wallet/auto-funding',
        'token',
        'agent-billing',
        mutation((ctx) => {
          const was = admin.autoFunding.delete(userOf(ctx).id);
          return {
            status: 200,
            data: {
              message: was ? 'Auto-funding disabled.' : 'Auto-funding was not enabled.',
              auto_funding: { enabled: false },
            },
          };
        }),
      ),
    ];
  };
}
