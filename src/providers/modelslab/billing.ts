import { OutcomeUnknownError, ProviderError } from '../../errors.js';
import type { AgentsResponse, ModelslabClient } from './agents.js';

/**
 * Billing, wallet and subscriptions of the Agents API (notes/modelslab.md §1.5-1.7), on top of the one
 * Agents client (token, envelope, limiters). Money-moving calls take the Idempotency-Key from src/spend/
 * and report what the provider did: charged, declined (thrown), or waiting for 3-D Secure.
 */

export interface PaymentMethodInfo {
  id: string;
  brand?: string;
  last4?: string;
  exp_month?: number;
  exp_year?: number;
  is_default?: boolean;
}

export interface PlanInfo {
  id: number;
  name: string;
  category?: string;
  period?: string;
  type?: string;
  price: number;
  api_call_limit?: number | null;
  rate_limit?: number;
  features?: string[];
}

export interface PlansAnswer {
  subscription_plans: PlanInfo[];
  pay_as_you_go?: {
    available?: boolean;
    description?: string;
    minimum_topup_usd?: number | string;
    currency?: string;
  };
}

/** What a charge request came back with when it was not refused. */
export type ChargeAnswer =
  | { kind: 'charged'; data: Record<string, unknown>; paymentIntentId: string | undefined; replay: boolean }
  | { kind: 'requires_action'; paymentIntentId: string; message: string | undefined; replay: boolean };

export interface PaymentLink {
  payment_url: string;
  session_id: string;
  purpose?: string;
  amount?: number;
  expires_at?: string;
  instructions?: string;
}

export type CheckoutAnswer = { paid: true; data: Record<string, unknown> } | { paid: false; message: string };

/** The documented minimum wallet top-up (plans' `pay_as_you_go.minimum_topup_usd`, the CLI and skills). */
export const MINIMUM_TOPUP_USD = 10;

const DECLINE_NEXT =
  'Nothing was charged. Use another card (modelslab_payment_methods, modelslab_add_payment_method), or call ' +
  "modelslab_create_payment_link so a human pays on Stripe's page.";

const AUTHENTICATION_NEXT =
  'Nothing was charged: the card needs 3-D Secure, which ModelsLab does not take headlessly here. Call ' +
  "modelslab_create_payment_link so a human pays on Stripe's page (or on modelslab.com/pricing), or use a card " +
  'without 3-D Secure.';

export class ModelslabBilling {
  constructor(private readonly client: ModelslabClient) {}

  /** Fetched on every use: ModelsLab rotates the key. The docs show it both with and without the envelope. */
  async publishableKey(signal?: AbortSignal): Promise<string> {
    const { data } = await this.client.request<Record<string, unknown>>({
      method: 'GET',
      path: '/billing/stripe-config',
      limiter: 'agent-general',
      signal,
    });
    const key = data?.publishable_key ?? (data?.data as Record<string, unknown> | undefined)?.publishable_key;
    if (typeof key !== 'string' || !/^pk_(live|test)_/.test(key)) {
      throw new ProviderError({
        provider: 'modelslab',
        code: 'unexpected_response',
        message: 'ModelsLab /billing/stripe-config answered without a Stripe publishable key (pk_…).',
        next: 'Retry in a minute; or call modelslab_create_payment_link so a human adds the card on Stripe.',
      });
    }
    return key;
  }

  async paymentMethods(signal?: AbortSignal): Promise<PaymentMethodInfo[]> {
    const { data } = await this.client.request<unknown>({
      method: 'GET',
      path: '/billing/payment-methods',
      limiter: 'agent-general',
      signal,
    });
    return list<PaymentMethodInfo>(data, 'payment_methods');
  }

  async attachPaymentMethod(
    paymentMethodId: string,
    makeDefault: boolean,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<AgentsResponse<Record<string, unknown>>> {
    return this.client.request({
      method: 'POST',
      path: '/billing/payment-methods',
      limiter: 'agent-billing',
      json: { payment_method_id: paymentMethodId, make_default: makeDefault },
      idempotencyKey,
      signal,
    });
  }

  async setDefaultPaymentMethod(id: string, idempotencyKey: string, signal?: AbortSignal): Promise<void> {
    await this.client.request({
      method: 'PUT',
      path: `/billing/payment-methods/${encodeURIComponent(id)}/default`,
      limiter: 'agent-billing',
      idempotencyKey,
      signal,
    });
  }

  async removePaymentMethod(id: string, idempotencyKey: string, signal?: AbortSignal): Promise<void> {
    await this.client.request({
      method: 'DELETE',
      path: `/billing/payment-methods/${encodeURIComponent(id)}`,
      limiter: 'agent-billing',
      idempotencyKey,
      signal,
    });
  }

  fundWallet(
    body: { amount: number; payment_method_id: string },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<ChargeAnswer> {
    return this.charge('/wallet/fund', 'POST', body, idempotencyKey, signal);
  }

  subscribe(
    body: { plan_id: number; payment_method_id: string },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<ChargeAnswer> {
    return this.charge('/subscriptions', 'POST', body, idempotencyKey, signal);
  }

  changePlan(
    subscriptionId: string,
    // The documented body (subscriptions.mdx "Update subscription plan"): no card, no amount.
    body: { new_plan_id: number },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<ChargeAnswer> {
    return this.charge(
      `/subscriptions/${encodeURIComponent(subscriptionId)}`,
      'PUT',
      body,
      idempotencyKey,
      signal,
    );
  }

  async transactions(
    query: { type?: 'credit' | 'debit'; limit?: number; offset?: number },
    signal?: AbortSignal,
  ): Promise<Record<string, unknown>> {
    const { data } = await this.client.request<Record<string, unknown>>({
      method: 'GET',
      path: '/wallet/transactions',
      limiter: 'agent-general',
      query: { ...query },
      signal,
    });
    return data ?? {};
  }

  async plans(signal?: AbortSignal): Promise<PlansAnswer> {
    const { data } = await this.client.request<PlansAnswer>({
      method: 'GET',
      path: '/subscriptions/plans',
      limiter: 'agent-general',
      signal,
    });
    return { ...data, subscription_plans: list<PlanInfo>(data?.subscription_plans, 'plans') };
  }

  async subscriptionStatus(id: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return (
      await this.client.request<Record<string, unknown>>({
        method: 'GET',
        path: `/subscriptions/${encodeURIComponent(id)}/status`,
        limiter: 'agent-general',
        signal,
      })
    ).data;
  }

  async setPaused(id: string, paused: boolean, idempotencyKey: string, signal?: AbortSignal) {
    return (
      await this.client.request<Record<string, unknown>>({
        method: 'POST',
        path: `/subscriptions/${encodeURIComponent(id)}/${paused ? 'pause' : 'resume'}`,
        limiter: 'agent-billing',
        idempotencyKey,
        signal,
      })
    ).data;
  }

  async paymentLink(
    body: { purpose: 'fund'; amount: number } | { purpose: 'subscribe'; plan_id: number },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<PaymentLink> {
    const { data } = await this.client.request<Record<string, unknown>>({
      method: 'POST',
      path: '/billing/payment-link',
      limiter: 'agent-billing',
      json: body,
      idempotencyKey,
      signal,
    });
    // Shown without the envelope in the docs; read both.
    const link = (typeof data?.payment_url === 'string' ? data : data?.data) as PaymentLink | undefined;
    if (!link || typeof link.payment_url !== 'string' || typeof link.session_id !== 'string') {
      throw new ProviderError({
        provider: 'modelslab',
        code: 'unexpected_response',
        message: 'ModelsLab answered the payment-link request without a payment_url and session_id.',
      });
    }
    return link;
  }

  /** Not paid yet is an answer, not an error: the human may still be on the page. */
  async confirmCheckout(
    purpose: 'fund' | 'subscribe',
    sessionId: string,
    signal?: AbortSignal,
  ): Promise<CheckoutAnswer> {
    try {
      const { data } = await this.client.request<Record<string, unknown>>({
        method: 'POST',
        path: purpose === 'fund' ? '/wallet/confirm-checkout' : '/subscriptions/confirm-checkout',
        limiter: 'agent-billing',
        json: { session_id: sessionId },
        signal,
      });
      return { paid: true, data: data ?? {} };
    } catch (error) {
      if (isNotPaidYet(error)) return { paid: false, message: notYetMessage(error) };
      throw error;
    }
  }

  async paymentStatus(paymentIntentId: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    return (
      await this.client.request<Record<string, unknown>>({
        method: 'GET',
        path: `/payments/${encodeURIComponent(paymentIntentId)}/status`,
        limiter: 'agent-general',
        signal,
      })
    ).data;
  }

  private async charge(
    path: string,
    method: 'POST' | 'PUT',
    body: object,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<ChargeAnswer> {
    let res: AgentsResponse<Record<string, unknown>>;
    try {
      res = await this.client.request<Record<string, unknown>>({
        method,
        path,
        limiter: 'agent-billing',
        json: body,
        idempotencyKey,
        signal,
      });
    } catch (error) {
      throw explainDecline(error);
    }
    const data: Record<string, unknown> =
      res.data !== null && typeof res.data === 'object' && !Array.isArray(res.data) ? res.data : {};
    const payment = data.payment as { status?: unknown; payment_intent_id?: unknown } | undefined;
    if (res.status === 202 || payment?.status === 'requires_action') {
      return {
        kind: 'requires_action',
        paymentIntentId: String(payment?.payment_intent_id ?? ''),
        message: typeof data.message === 'string' ? data.message : undefined,
        replay: res.replay,
      };
    }
    if (!confirmsCharge(res)) {
      // A redirect, an HTML page or an envelope without data says nothing about the card: it may have been charged.
      throw new OutcomeUnknownError(
        `ModelsLab answered ${method} ${path} with HTTP ${res.status} and ${describeBody(res.data)}, which does not confirm the charge.`,
        { facts: res.requestId ? [`Request id: ${res.requestId}.`] : [] },
      );
    }
    const pi = data.payment_intent_id ?? payment?.payment_intent_id;
    return {
      kind: 'charged',
      data,
      paymentIntentId: typeof pi === 'string' ? pi : undefined,
      replay: res.replay,
    };
  }
}

/**
 * Only a 200/201 whose JSON envelope carries a data object (and no error, no failed payment) confirms a charge;
 * the documents show no other success shape.
 */
function confirmsCharge(res: AgentsResponse<Record<string, unknown>>): boolean {
  if (res.status !== 200 && res.status !== 201) return false;
  const data = res.data as unknown;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return false;
  const d = data as Record<string, unknown>;
  const payment = d.payment as { status?: unknown } | undefined;
  return d.status !== 'error' && d.status !== 'failed' && (payment?.status ?? 'succeeded') === 'succeeded';
}

function describeBody(data: unknown): string {
  if (data === undefined) return 'no body';
  if (data === null) return 'data: null';
  if (typeof data === 'string') return `a non-JSON body (${data.length} characters)`;
  return `an answer without a data object`;
}

/** 402 payment_declined: the decline code and the PaymentIntent are what a human needs to act on it. */
function explainDecline(error: unknown): unknown {
  if (!(error instanceof ProviderError) || error.status !== 402) return error;
  const details =
    (error.body as { error?: { details?: Record<string, unknown> } } | undefined)?.error?.details ?? {};
  const facts = [
    ...(typeof details.decline_code === 'string' ? [`Decline code: ${details.decline_code}.`] : []),
    ...(typeof details.payment_intent_id === 'string'
      ? [`payment_intent_id: ${details.payment_intent_id}.`]
      : []),
  ];
  // subscriptions.mdx: a card that needs 3-D Secure is refused with 402 and a decline_code; a human pays instead.
  const needsAuthentication =
    typeof details.decline_code === 'string' && /authentication/i.test(details.decline_code);
  return new ProviderError({
    provider: 'modelslab',
    status: 402,
    code: error.code ?? 'payment_declined',
    requestId: error.requestId,
    message: error.message || 'The card was declined.',
    facts,
    next: needsAuthentication ? AUTHENTICATION_NEXT : DECLINE_NEXT,
    body: error.body,
  });
}

/**
 * confirm-checkout before the human paid: the documents only say to poll, not what the answer is. So any 4xx
 * but an auth error (401, 403) reads as "not paid yet"; the caller says that it read it so.
 */
function isNotPaidYet(error: unknown): error is ProviderError {
  if (!(error instanceof ProviderError) || error.status === undefined) return false;
  return error.status >= 400 && error.status < 500 && error.status !== 401 && error.status !== 403;
}

/** How a "not yet" answer came: status, code and request id, then ModelsLab's words. */
function notYetMessage(error: ProviderError): string {
  const how = [
    `HTTP ${error.status}`,
    ...(error.code ? [error.code] : []),
    ...(error.requestId ? [`request ${error.requestId}`] : []),
  ].join(', ');
  return `ModelsLab answered ${how}: "${error.message.slice(0, 200)}"`;
}

function list<T>(data: unknown, key: string): T[] {
  if (Array.isArray(data)) return data as T[];
  const d = data as Record<string, unknown> | undefined;
  const inner = d?.[key] ?? d?.items ?? d?.data;
  return Array.isArray(inner) ? (inner as T[]) : [];
}
