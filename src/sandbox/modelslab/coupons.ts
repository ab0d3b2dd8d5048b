import { ApiError } from '../core/exchange.js';
import type { AdminState } from './admin-state.js';
import type { BillingState } from './billing.js';
import { billingMutations } from './mutations.js';
import {
  agentsRoute,
  ok,
  userOf,
  validationError,
  type ModelslabEnv,
  type ModelslabExchange,
} from './server.js';

/**
 * Coupons (billing-and-wallet.mdx: GET /wallet/coupons/validate?coupon_code=…, POST /wallet/coupons/redeem).
 * The sandbox's coupons add wallet credit and need no purchase; each redeems once per account. "Bonus" coupons
 * (which need `payment_method_id` and `purchase_amount`, notes §1.6) are not emulated.
 */
export const SANDBOX_COUPONS: Record<string, { amount: number; expires: string }> = {
  SPRING: { amount: 10, expires: '2999-12-31' },
  WELCOME5: { amount: 5, expires: '2999-12-31' },
  WINTER2020: { amount: 20, expires: '2020-03-01' },
};

export function couponRoutes(admin: AdminState, billing: BillingState) {
  return (env: ModelslabEnv) => {
    const mutation = billingMutations(env, billing.holds);
    const redeemedBy = (id: number) => {
      let set = admin.redeemed.get(id);
      if (!set) admin.redeemed.set(id, (set = new Set()));
      return set;
    };
    /** The coupon the request names, refused as the API would when it cannot be used by this account. */
    const usable = (ctx: ModelslabExchange, code: unknown) => {
      if (typeof code !== 'string' || code.trim() === '')
        throw validationError({ coupon_code: 'The coupon code field is required.' });
      const key = code.trim().toUpperCase();
      const coupon = SANDBOX_COUPONS[key];
      if (!coupon) throw validationError({ coupon_code: 'The selected coupon code is invalid.' });
      if (Date.parse(`${coupon.expires}T23:59:59Z`) < env.now())
        throw validationError({ coupon_code: 'This coupon has expired.' });
      if (redeemedBy(userOf(ctx).id).has(key))
        throw validationError({ coupon_code: 'This coupon was already redeemed by this account.' });
      return { key, ...coupon };
    };
    return [
      agentsRoute('GET', '/wallet/coupons/validate', 'token', 'agent-general', (ctx) => {
        const coupon = usable(ctx, ctx.query.get('coupon_code'));
        ok(ctx, {
          valid: true,
          coupon_code: coupon.key,
          type: 'credit',
          amount: coupon.amount,
          currency: 'USD',
          expires_at: `${coupon.expires}T23:59:59Z`,
          message: `Adds $${coupon.amount.toFixed(2)} to the wallet.`,
        });
      }),
      agentsRoute(
        'POST',
        '/wallet/coupons/redeem',
        'token',
        'agent-billing',
        mutation((ctx) => {
          const coupon = usable(ctx, ctx.body.coupon_code);
          if (ctx.body.payment_method_id !== undefined || ctx.body.purchase_amount !== undefined)
            throw new ApiError(
              422,
              'not_a_bonus_coupon',
              'This coupon needs no purchase; send only coupon_code.',
            );
          const user = userOf(ctx);
          const entry = env.accounts.credit(user, coupon.amount, 'coupon', `coupon:${coupon.key}`);
          redeemedBy(user.id).add(coupon.key);
          return {
            status: 200,
            data: {
              message: `Coupon ${coupon.key} redeemed.`,
              coupon_code: coupon.key,
              amount: coupon.amount,
              balance: user.walletUsd,
              currency: 'USD',
              transaction_id: `txn_${entry.id}`,
            },
          };
        }),
      ),
    ];
  };
}
