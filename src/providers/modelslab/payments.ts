import { ConfigurationError, ProviderError, UserInputError } from '../../errors.js';
import { positivePrice } from '../../spend/money.js';
import type { ChargeOutcome, ChargeRequest, Spend, SpendResult } from '../../spend/index.js';
import { usd } from '../../spend/index.js';
import type { ChargeAnswer, ModelslabBilling, PaymentMethodInfo, PlanInfo } from './billing.js';

/** What the money-moving ModelsLab tools share: the card to charge, and how an outcome reads. */

export const NO_CARD_NEXT =
  'Call modelslab_add_payment_method with a card, or modelslab_create_payment_link so a human pays on ' +
  "Stripe's page.";

export function cardLabel(pm: PaymentMethodInfo): string {
  const brand = pm.brand ? pm.brand[0]!.toUpperCase() + pm.brand.slice(1) : 'Card';
  return `${brand}${pm.last4 ? ` •••• ${pm.last4}` : ''} (${pm.id})`;
}

/** The card a charge will use: the one named, else the account's default. */
export async function chosenCard(
  billing: ModelslabBilling,
  paymentMethodId: string | undefined,
  signal?: AbortSignal,
): Promise<PaymentMethodInfo> {
  const methods = await billing.paymentMethods(signal);
  if (paymentMethodId) {
    // A pm_ not (yet) attached is still chargeable upstream; it just has no brand to show.
    return methods.find((m) => m.id === paymentMethodId) ?? { id: paymentMethodId };
  }
  const card = methods.find((m) => m.is_default) ?? methods[0];
  if (!card) throw new ConfigurationError('The ModelsLab account has no saved card.', { next: NO_CARD_NEXT });
  return card;
}

/** A ModelsLab charge answer as src/spend/ books it: the amount booked is the approved one, never the answer's. */
function outcomeOf(answer: ChargeAnswer, fallbackReference: string): ChargeOutcome<ChargeAnswer> {
  if (answer.kind === 'requires_action') {
    return { kind: 'action_required', reference: answer.paymentIntentId || fallbackReference, value: answer };
  }
  const reported = answer.data.amount;
  // A subscription's documented answer names no PaymentIntent, only the Stripe subscription it started.
  const subscription = answer.data.stripe_subscription_id;
  return {
    kind: 'confirmed',
    reference:
      answer.paymentIntentId ?? (typeof subscription === 'string' ? subscription : fallbackReference),
    ...(reported !== undefined
      ? { reportedUsd: typeof reported === 'number' ? reported : Number(reported) }
      : {}),
    replay: answer.replay,
    value: answer,
  };
}

/**
 * The text of a money-moving tool's result: the quote, the human's refusal, an earlier completion, a
 * charge (rendered by the tool), or a payment that waits for 3-D Secure.
 */
export function spendText(
  result: SpendResult<ChargeAnswer>,
  charged: (answer: ChargeAnswer & { kind: 'charged' }) => string,
  retry: { purpose: 'fund' | 'subscribe'; amountUsd: number; planId?: number },
): string {
  if (result.status !== 'done') return result.text;
  const answer = result.outcome.value;
  if (answer.kind === 'charged') {
    return [
      charged(answer),
      `Charge ${result.outcome.reference}; ${result.consent}; recorded in the local ledger (spend_report).`,
      ...(answer.replay
        ? [
            'ModelsLab answered from its idempotency cache (an earlier identical request): charged once, not twice.',
          ]
        : []),
    ].join('\n');
  }
  const link =
    retry.purpose === 'fund'
      ? `modelslab_create_payment_link {purpose: "fund", amount_usd: ${retry.amountUsd}}`
      : `modelslab_create_payment_link {purpose: "subscribe", plan_id: ${retry.planId}}`;
  return [
    `NOT CHARGED YET: the card needs 3-D Secure, which only a human can complete.`,
    `payment_intent_id: ${answer.paymentIntentId}`,
    ...(answer.message ? [`ModelsLab said: "${answer.message.slice(0, 300)}"`] : []),
    `The ${usd(retry.amountUsd)} payment is held against today's cap until it resolves.`,
    `Next: ask the human to complete it (ModelsLab's pricing page, or a Stripe link from ${link}), then call ` +
      `modelslab_payment_status {payment_intent_id: "${answer.paymentIntentId}"} to see it succeed and record it.`,
  ].join('\n');
}

/** A plan by id, from the live list: its price is what the human approves. */
export async function findPlan(
  billing: ModelslabBilling,
  planId: number,
  signal?: AbortSignal,
): Promise<PlanInfo> {
  const { subscription_plans } = await billing.plans(signal);
  const plan = subscription_plans.find((p) => Number(p.id) === planId);
  if (!plan) {
    throw new UserInputError(`ModelsLab has no plan ${planId}.`, {
      next: 'Call modelslab_list_plans for the plan ids.',
    });
  }
  const price = positivePrice(plan.price);
  if (price === undefined) {
    throw new ProviderError({
      provider: 'modelslab',
      code: 'unexpected_response',
      message: `ModelsLab lists plan ${planId} at ${JSON.stringify(plan.price).slice(0, 40)}, which is not a price; nothing was sent.`,
      next: 'Call modelslab_list_plans again later, or pick another plan.',
    });
  }
  return { ...plan, price };
}

/** A ModelsLab card charge through src/spend/: the parts every money-moving ModelsLab tool shares. */
export function chargeCard(
  spend: Spend,
  req: Omit<ChargeRequest<ChargeAnswer>, 'provider' | 'paymentMethod' | 'send'> & {
    /** The card charged, or how the payment is made when no card is sent. */
    card: PaymentMethodInfo | string;
    send(idempotencyKey: string): Promise<ChargeAnswer>;
  },
): Promise<SpendResult<ChargeAnswer>> {
  const { card, send, ...rest } = req;
  return spend.charge({
    ...rest,
    provider: 'modelslab',
    paymentMethod: typeof card === 'string' ? card : cardLabel(card),
    // A charge answer without a PaymentIntent id still needs a reference the ledger can show.
    send: async (key) => outcomeOf(await send(key), `${req.operation}-${key.slice(-12)}`),
  });
}

/** Whether a charge answer shows a payment made now: a PaymentIntent, a payment object or an amount. */
export function showsPayment(answer: ChargeAnswer & { kind: 'charged' }): boolean {
  return (
    answer.paymentIntentId !== undefined ||
    answer.data.payment !== undefined ||
    answer.data.amount !== undefined
  );
}
