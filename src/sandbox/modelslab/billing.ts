import { randomBytes } from 'node:crypto';
import { ApiError, escapeHtml, html, json } from '../core/exchange.js';
import type { CardRegistry, StoredCard } from '../stripe/cards.js';
import { roundCents, type MlUser } from './accounts.js';
import { billingMutations } from './mutations.js';
import {
  AGENTS_PREFIX,
  agentsRoute,
  ok,
  route,
  userOf,
  validationError,
  type ModelslabEnv,
  type ModelslabExchange,
  type ModelslabRoute,
} from './server.js';

/**
 * Billing, wallet and subscriptions (notes/modelslab.md §1.5-1.7): payment methods held by Stripe,
 * headless charges that succeed, decline (402) or need 3-D Secure (202) by Stripe's test cards,
 * payment links that open a local checkout page, idempotent replay of every mutation.
 */

export interface BillingOptions {
  /** Stripe's cards, to know what a `pm_…` does when charged. */
  cards: CardRegistry;
  publishableKey: string;
  /** The docs show stripe-config and payment-link without the envelope; the CLI reads `data.`: both happen. */
  envelopeStripeConfig?: boolean;
}

export interface Plan {
  id: number;
  name: string;
  category: 'normal' | 'imagen' | 'addon' | 'enterprise';
  period: 'monthly' | 'yearly';
  type: string;
  price: number;
  api_call_limit: number | null;
  rate_limit: number;
  features: string[];
}

export const PLANS: Plan[] = [
  {
    id: 10,
    name: 'Basic',
    category: 'normal',
    period: 'monthly',
    type: 'api',
    price: 27,
    api_call_limit: 13000,
    rate_limit: 5,
    features: ['All v6 APIs', 'Community models'],
  },
  {
    id: 11,
    name: 'Standard',
    category: 'normal',
    period: 'monthly',
    type: 'api',
    price: 47,
    api_call_limit: null,
    rate_limit: 10,
    features: ['Unlimited image generations', 'Queue priority'],
  },
  {
    id: 12,
    name: 'Premium',
    category: 'normal',
    period: 'monthly',
    type: 'api',
    price: 147,
    api_call_limit: null,
    rate_limit: 15,
    features: ['Unlimited', 'Dedicated GPU', 'Video'],
  },
  {
    id: 20,
    name: 'Imagen Starter',
    category: 'imagen',
    period: 'monthly',
    type: 'imagen',
    price: 9,
    api_call_limit: 1000,
    rate_limit: 3,
    features: ['1,000 image generations'],
  },
  {
    id: 21,
    name: 'Imagen Pro',
    category: 'imagen',
    period: 'monthly',
    type: 'imagen',
    price: 19,
    api_call_limit: 5000,
    rate_limit: 5,
    features: ['5,000 image generations'],
  },
  {
    id: 30,
    name: 'Basic (yearly)',
    category: 'normal',
    period: 'yearly',
    type: 'api',
    price: 270,
    api_call_limit: 13000,
    rate_limit: 5,
    features: ['All v6 APIs'],
  },
];

export const MINIMUM_TOPUP_USD = 10;

interface PaymentIntent {
  id: string;
  userId: number;
  amount: number;
  status: 'succeeded' | 'requires_action' | 'failed';
  /** What happens once the human authenticates (3-D Secure). */
  complete: () => void;
}

interface CheckoutSession {
  id: string;
  userId: number;
  purpose: 'fund' | 'subscribe';
  amount: number;
  planId: number | null;
  paid: boolean;
  /** The confirm-checkout answer, once given: a second confirm repeats it instead of paying twice. */
  confirmed: Record<string, unknown> | null;
  expiresAt: number;
}

export interface SavedMethod {
  card: StoredCard;
  isDefault: boolean;
}

export interface BillingState {
  intents: Map<string, PaymentIntent>;
  sessions: Map<string, CheckoutSession>;
  methods: Map<number, SavedMethod[]>;
  /** Paths whose next mutation is carried out but never answered (a lost answer, for crash tests). */
  holds: Set<string>;
}

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`;

export function billingRoutes(options: BillingOptions, state: BillingState) {
  return ({ accounts, server, now }: ModelslabEnv): ModelslabRoute[] => {
    const agents = (
      method: string,
      path: string,
      limiter: ModelslabRoute['limiter'],
      run: ModelslabRoute['run'],
    ) => agentsRoute(method, path, 'token', limiter, run);
    const me = userOf;
    const methodsOf = (user: MlUser) => {
      let list = state.methods.get(user.id);
      if (!list) state.methods.set(user.id, (list = []));
      return list;
    };

    const mutation = billingMutations({ server, now }, state.holds);

    const methodFor = (ctx: ModelslabExchange): StoredCard => {
      const pmId = typeof ctx.body.payment_method_id === 'string' ? ctx.body.payment_method_id : '';
      const saved = methodsOf(me(ctx));
      const chosen = pmId ? saved.find((m) => m.card.id === pmId) : saved.find((m) => m.isDefault);
      if (chosen) return chosen.card;
      if (!pmId) throw validationError({ payment_method_id: 'The payment method id field is required.' });
      // ModelsLab charges a pm_ the customer has not attached too (Stripe attaches it on first use).
      const card = options.cards.get(pmId);
      if (!card) throw new ApiError(404, 'payment_method_not_found', `No such PaymentMethod: '${pmId}'.`);
      return card;
    };

    /** Charge a card as Stripe would: succeed, decline (402) or ask for 3-D Secure (202). */
    const charge = (
      user: MlUser,
      card: StoredCard,
      amount: number,
      onSuccess: () => void,
      // subscriptions.mdx: "If the card requires 3D Secure, the response returns HTTP 402 with decline_code
      // details" (the 202 requires_action is documented for the wallet only).
      threeDSecure: '202' | '402' = '202',
    ): { status: number; intent: PaymentIntent } => {
      const intent: PaymentIntent = {
        id: id('pi'),
        userId: user.id,
        amount,
        status: 'succeeded',
        complete: onSuccess,
      };
      state.intents.set(intent.id, intent);
      if (card.behaviour.kind === 'declines') {
        intent.status = 'failed';
        throw new ApiError(
          402,
          'payment_declined',
          'Your card was declined.',
          {},
          {
            decline_code: card.behaviour.declineCode,
            payment_intent_id: intent.id,
          },
        );
      }
      if (card.behaviour.kind === 'requires_action' && threeDSecure === '402') {
        intent.status = 'failed';
        throw new ApiError(
          402,
          'payment_declined',
          'Your card requires authentication. Use modelslab.com/pricing to pay for this subscription.',
          {},
          { decline_code: 'authentication_required', payment_intent_id: intent.id },
        );
      }
      if (card.behaviour.kind === 'requires_action') {
        intent.status = 'requires_action';
        return { status: 202, intent };
      }
      onSuccess();
      return { status: 200, intent };
    };

    const requiresAction = (intent: PaymentIntent) => ({
      payment: {
        status: 'requires_action',
        payment_intent_id: intent.id,
        client_secret: `${intent.id}_secret_${randomBytes(8).toString('hex')}`,
      },
      message:
        'Additional authentication is required. Use modelslab.com/pricing to do payment for this transaction.',
    });

    const amountOf = (ctx: ModelslabExchange, min: number): number => {
      const amount = Number(ctx.body.amount);
      if (!Number.isFinite(amount)) throw validationError({ amount: 'The amount field is required.' });
      if (amount < min) throw validationError({ amount: `The amount must be at least ${min}.` });
      return roundCents(amount);
    };

    const planOf = (value: unknown, field = 'plan_id'): Plan => {
      const plan = PLANS.find((p) => p.id === Number(value));
      if (!plan) throw validationError({ [field]: `The selected ${field.replace(/_/g, ' ')} is invalid.` });
      return plan;
    };

    const subscribe = (user: MlUser, plan: Plan): Record<string, unknown> => {
      const start = now();
      const sub = {
        id: 1000 + user.subscriptions.length + 1,
        plan_id: plan.id,
        plan_name: plan.name,
        feature: plan.type,
        status: 'active',
        stripe_subscription_id: id('sub'),
        current_period_start: new Date(start).toISOString(),
        current_period_end: new Date(
          start + (plan.period === 'yearly' ? 365 : 30) * 86_400_000,
        ).toISOString(),
      };
      user.subscriptions.push(sub);
      return sub;
    };

    const subscriptionOf = (ctx: ModelslabExchange, subId: string) => {
      const sub = me(ctx).subscriptions.find((s) => String(s.id) === subId);
      if (!sub) throw new ApiError(404, 'not_found', 'Subscription not found.');
      return sub;
    };

    // The documents show no answer for a funded wallet; "payments/{id}/status … useful after wallet funding" implies
    // the PaymentIntent. Nothing else (no amount, no balance) for a client to lean on.
    const fundedView = (intentId: string) => ({
      message: 'Wallet funded.',
      payment_intent_id: intentId,
    });

    const linkFor = (session: CheckoutSession) => `${server.url}/sandbox/checkout/${session.id}`;

    return [
      agents('GET', '/billing/stripe-config', 'agent-general', (ctx) => {
        const config = {
          publishable_key: options.publishableKey,
          instructions: 'Create a PaymentMethod with Stripe using this publishable key, then send its id.',
        };
        if (options.envelopeStripeConfig) ok(ctx, config);
        else json(ctx, 200, config);
      }),
      agents('GET', '/billing/payment-methods', 'agent-general', (ctx) => {
        ok(ctx, methodsOf(me(ctx)).map(methodView));
      }),
      agents(
        'POST',
        '/billing/payment-methods',
        'agent-billing',
        mutation((ctx) => {
          const pmId = typeof ctx.body.payment_method_id === 'string' ? ctx.body.payment_method_id : '';
          if (!pmId) throw validationError({ payment_method_id: 'The payment method id field is required.' });
          // Raw card data is never accepted (billing-and-wallet.mdx).
          if (/^\d{12,19}$/.test(pmId.replace(/\s/g, '')) || 'card' in ctx.body || 'number' in ctx.body) {
            throw validationError({
              payment_method_id: 'Send a Stripe PaymentMethod id (pm_…), never card details.',
            });
          }
          const card = options.cards.get(pmId);
          if (!card) throw new ApiError(404, 'payment_method_not_found', `No such PaymentMethod: '${pmId}'.`);
          const list = methodsOf(me(ctx));
          const makeDefault = ctx.body.make_default !== false || list.length === 0;
          if (makeDefault) for (const m of list) m.isDefault = false;
          const existing = list.find((m) => m.card.id === card.id);
          if (existing) existing.isDefault ||= makeDefault;
          else list.push({ card, isDefault: makeDefault });
          return {
            status: 201,
            data: {
              message: 'Payment method attached.',
              payment_method: methodView(list.find((m) => m.card.id === card.id)!),
            },
          };
        }),
      ),
      agents(
        'PUT',
        '/billing/payment-methods/([^/]+)/default',
        'agent-billing',
        mutation((ctx, [pm = '']) => {
          const list = methodsOf(me(ctx));
          const target = list.find((m) => m.card.id === pm);
          if (!target) throw new ApiError(404, 'not_found', 'Payment method not found.');
          for (const m of list) m.isDefault = m === target;
          return {
            status: 200,
            data: { message: 'Default payment method updated.', payment_method: methodView(target) },
          };
        }),
      ),
      agents(
        'DELETE',
        '/billing/payment-methods/([^/]+)',
        'agent-billing',
        mutation((ctx, [pm = '']) => {
          const list = methodsOf(me(ctx));
          const index = list.findIndex((m) => m.card.id === pm);
          if (index < 0) throw new ApiError(404, 'not_found', 'Payment method not found.');
          const [removed] = list.splice(index, 1);
          if (removed?.isDefault && list[0]) list[0].isDefault = true;
          return { status: 200, data: { message: 'Payment method removed.' } };
        }),
      ),
      agents(
        'POST',
        '/billing/payment-link',
        'agent-billing',
        mutation((ctx) => {
          const purpose = ctx.body.purpose;
          if (purpose !== 'fund' && purpose !== 'subscribe') {
            throw validationError({ purpose: 'The selected purpose is invalid (fund or subscribe).' });
          }
          const plan = purpose === 'subscribe' ? planOf(ctx.body.plan_id) : undefined;
          const session: CheckoutSession = {
            id: id('cs_test'),
            userId: me(ctx).id,
            purpose,
            amount: plan ? plan.price : amountOf(ctx, MINIMUM_TOPUP_USD),
            planId: plan?.id ?? null,
            paid: false,
            confirmed: null,
            expiresAt: now() + 24 * 3_600_000,
          };
          state.sessions.set(session.id, session);
          return {
            status: 200,
            data: {
              payment_url: linkFor(session),
              session_id: session.id,
              purpose,
              amount: session.amount,
              ...(plan ? { plan_id: plan.id } : {}),
              expires_at: new Date(session.expiresAt).toISOString(),
              instructions: 'Open the payment_url, complete payment, then confirm with the session_id.',
            },
          };
        }),
      ),
      agents(
        'POST',
        '/wallet/fund',
        'agent-billing',
        mutation((ctx) => {
          const user = me(ctx);
          const amount = amountOf(ctx, MINIMUM_TOPUP_USD);
          const card = methodFor(ctx);
          const { status, intent } = charge(user, card, amount, () => {
            accounts.credit(user, amount, 'wallet_fund', 'stripe');
          });
          return status === 202
            ? { status, data: requiresAction(intent) }
            : { status, data: fundedView(intent.id) };
        }),
      ),
      agents('GET', '/wallet/transactions', 'agent-general', (ctx) => {
        const user = me(ctx);
        const type = ctx.query.get('type');
        const limit = Math.min(Math.max(Number(ctx.query.get('limit') ?? 50) || 50, 1), 200);
        const offset = Math.max(Number(ctx.query.get('offset') ?? 0) || 0, 0);
        const all = user.wallet
          .filter((e) => !type || e.type === type)
          .slice()
          .reverse();
        const credited = user.wallet.filter((e) => e.type === 'credit').reduce((s, e) => s + e.amountUsd, 0);
        const used = user.wallet.filter((e) => e.type === 'debit').reduce((s, e) => s + e.amountUsd, 0);
        ok(ctx, {
          items: all.slice(offset, offset + limit).map((e) => ({
            id: e.id,
            source: e.source,
            transaction_id: `txn_${e.id}`,
            type: e.type,
            amount: e.amountUsd,
            status: 'completed',
            usecase: e.usecase,
            created_at: new Date(e.at).toISOString(),
          })),
          count: Math.min(limit, Math.max(all.length - offset, 0)),
          total: all.length,
          wallet: {
            balance: user.walletUsd,
            currency: 'USD',
            total_credited: roundCents(credited),
            amount_used: roundCents(used),
          },
        });
      }),
      agents('POST', '/wallet/confirm-checkout', 'agent-billing', (ctx) => confirmCheckout(ctx, 'fund')),
      agents('POST', '/subscriptions/confirm-checkout', 'agent-billing', (ctx) =>
        confirmCheckout(ctx, 'subscribe'),
      ),
      agents('GET', '/payments/([^/]+)/status', 'agent-general', (ctx, [pi = '']) => {
        const intent = state.intents.get(pi);
        if (!intent || intent.userId !== me(ctx).id)
          throw new ApiError(404, 'not_found', 'Payment not found.');
        ok(ctx, {
          payment_intent_id: intent.id,
          status: intent.status === 'requires_action' ? 'pending' : intent.status,
          amount: intent.amount,
          currency: 'usd',
        });
      }),
      agents('GET', '/subscriptions/plans', 'agent-general', (ctx) => {
        ok(ctx, {
          subscription_plans: PLANS,
          pay_as_you_go: {
            available: true,
            description: 'Fund the wallet and pay per generation.',
            minimum_topup_usd: MINIMUM_TOPUP_USD,
            currency: 'USD',
            auto_payments: {
              supported: true,
              description: 'Top up automatically when the balance falls under a threshold.',
              configure_endpoint: `${AGENTS_PREFIX}/wallet/auto-funding`,
              disable_endpoint: `${AGENTS_PREFIX}/wallet/auto-funding`,
            },
            fund_endpoint: `${AGENTS_PREFIX}/wallet/fund`,
          },
          count: PLANS.length,
        });
      }),
      agents(
        'POST',
        '/subscriptions',
        'agent-billing',
        mutation((ctx) => {
          const user = me(ctx);
          const plan = planOf(ctx.body.plan_id);
          const card = methodFor(ctx);
          let sub: Record<string, unknown> | undefined;
          charge(
            user,
            card,
            plan.price,
            () => {
              sub = subscribe(user, plan);
            },
            '402',
          );
          // subscriptions.mdx's example answer, field for field: no amount and no PaymentIntent to lean on.
          return {
            status: 201,
            data: {
              message: 'Subscription created.',
              subscription: {
                id: sub?.id,
                plan_id: sub?.plan_id,
                feature: sub?.feature,
                status: sub?.status,
              },
              stripe_subscription_id: sub?.stripe_subscription_id,
              status: 'active',
            },
          };
        }),
      ),
      agents('GET', '/subscriptions/([0-9]+)/status', 'agent-general', (ctx, [subId = '']) => {
        // subscriptions.mdx's example, field for field: no plan name to lean on.
        const { id, plan_id, status, stripe_subscription_id, current_period_start, current_period_end } =
          subscriptionOf(ctx, subId);
        ok(ctx, { id, plan_id, status, stripe_subscription_id, current_period_start, current_period_end });
      }),
      agents(
        'PUT',
        '/subscriptions/([0-9]+)',
        'agent-billing',
        mutation((ctx, [subId = '']) => {
          const sub = subscriptionOf(ctx, subId);
          // The CLI sends plan_id here; the API wants new_plan_id. The documented body is only {new_plan_id}: the
          // subscription's card on file (the default) pays any difference.
          const plan = planOf(ctx.body.new_plan_id, 'new_plan_id');
          const card = methodFor({ ...ctx, body: {} } as ModelslabExchange);
          charge(
            me(ctx),
            card,
            plan.price,
            () => {
              Object.assign(sub, {
                plan_id: plan.id,
                plan_name: plan.name,
                feature: plan.type,
                status: 'active',
              });
            },
            '402',
          );
          // The documents show no answer for a plan change: the minimum, a message in the envelope.
          return { status: 200, data: { message: 'Subscription plan updated.' } };
        }),
      ),
      agents(
        'POST',
        '/subscriptions/([0-9]+)/pause',
        'agent-billing',
        mutation((ctx, [subId = '']) => {
          const sub = subscriptionOf(ctx, subId);
          if (sub.status !== 'active')
            throw new ApiError(
              409,
              'invalid_state',
              `The subscription is ${String(sub.status)}, not active.`,
            );
          sub.status = 'paused';
          // No answer is documented: the minimum.
          return { status: 200, data: { message: 'Subscription paused.' } };
        }),
      ),
      agents(
        'POST',
        '/subscriptions/([0-9]+)/resume',
        'agent-billing',
        mutation((ctx, [subId = '']) => {
          const sub = subscriptionOf(ctx, subId);
          if (sub.status !== 'paused')
            throw new ApiError(
              409,
              'invalid_state',
              `The subscription is ${String(sub.status)}, not paused.`,
            );
          sub.status = 'active';
          // No answer is documented: the minimum.
          return { status: 200, data: { message: 'Subscription resumed.' } };
        }),
      ),
      // Stripe Checkout, as the human sees it: one page, one Pay button.
      route('GET', '/sandbox/checkout/(cs_test_[0-9a-f]+)', 'none', undefined, (ctx, [cs = '']) => {
        const session = state.sessions.get(cs);
        if (!session)
          return html(ctx, 404, 'Unknown checkout', '<h1>This checkout session does not exist.</h1>');
        const what =
          session.purpose === 'fund'
            ? 'ModelsLab wallet top-up'
            : `ModelsLab plan ${planOf(session.planId).name}`;
        if (session.paid)
          return html(
            ctx,
            200,
            'Paid',
            `<h1>Paid</h1><p>${escapeHtml(what)}: $${session.amount.toFixed(2)}. You can close this page.</p>`,
          );
        html(
          ctx,
          200,
          'Checkout (sandbox)',
          `<h1>${escapeHtml(what)}</h1><p>Amount: <strong>$${session.amount.toFixed(2)} USD</strong></p>` +
            `<p>Sandbox checkout: no real card is charged.</p>` +
            `<form method="post" action="/sandbox/checkout/${cs}/pay"><button type="submit">Pay $${session.amount.toFixed(2)}</button></form>`,
        );
      }),
      route('POST', '/sandbox/checkout/(cs_test_[0-9a-f]+)/pay', 'none', undefined, (ctx, [cs = '']) => {
        const session = state.sessions.get(cs);
        if (!session)
          return html(ctx, 404, 'Unknown checkout', '<h1>This checkout session does not exist.</h1>');
        session.paid = true;
        html(
          ctx,
          200,
          'Paid',
          `<h1>Payment complete</h1><p>Session <code>${cs}</code>. Go back to your agent: it can now confirm the payment.</p>`,
        );
      }),
    ];

    function confirmCheckout(ctx: ModelslabExchange, purpose: 'fund' | 'subscribe') {
      const cs = typeof ctx.body.session_id === 'string' ? ctx.body.session_id : '';
      if (!cs) throw validationError({ session_id: 'The session id field is required.' });
      const session = state.sessions.get(cs);
      if (!session || session.userId !== me(ctx).id || session.purpose !== purpose) {
        throw new ApiError(404, 'not_found', 'Checkout session not found.');
      }
      // The documents show no answer for confirm-checkout: the emulator answers the minimum (a message), and an
      // unpaid session gets a plain 400 whose words say nothing a client could match.
      if (session.confirmed) return ok(ctx, session.confirmed);
      if (!session.paid) throw new ApiError(400, 'bad_request', 'The Checkout Session is still open.');
      const user = me(ctx);
      if (purpose === 'fund') {
        accounts.credit(user, session.amount, 'wallet_fund', 'stripe_checkout');
        session.confirmed = { message: 'Wallet funded.' };
      } else {
        subscribe(user, planOf(session.planId));
        session.confirmed = { message: 'Subscription active.' };
      }
      ok(ctx, session.confirmed);
    }
  };
}

export function methodView(m: SavedMethod) {
  return {
    id: m.card.id,
    brand: m.card.brand,
    last4: m.card.last4,
    exp_month: m.card.exp_month,
    exp_year: m.card.exp_year,
    is_default: m.isDefault,
  };
}

export function newBillingState(): BillingState {
  return { intents: new Map(), sessions: new Map(), methods: new Map(), holds: new Set() };
}

/** The human completed 3-D Secure for this PaymentIntent (what the bank's page would do). */
export function authenticate(state: BillingState, paymentIntentId: string): boolean {
  const intent = state.intents.get(paymentIntentId);
  if (!intent || intent.status !== 'requires_action') return false;
  intent.status = 'succeeded';
  intent.complete();
  return true;
}

/** The human gave up on 3-D Secure, or the bank refused it: the PaymentIntent fails and nothing is charged. */
export function failAuthentication(state: BillingState, paymentIntentId: string): boolean {
  const intent = state.intents.get(paymentIntentId);
  if (!intent || intent.status !== 'requires_action') return false;
  intent.status = 'failed';
  return true;
}
