import { annotate, OutcomeUnknownError, ProviderError } from '../../errors.js';
import type { Method } from '../../http/client.js';
import type { AgentsResponse, ModelslabClient } from './agents.js';
import type { ApiKeyInfo, Limiter } from './types.js';

/**
 * The rest of the ModelsLab account (teams.mdx, billing-and-wallet.mdx, profile-and-api-keys.mdx,
 * authentication.mdx): team, invoices, billing profile, coupons, auto-funding, profile and key updates, password
 * reset, on top of the one Agents client. The docs give paths and few fields: where a field name is not in them,
 * a comment says where it comes from.
 */

type Row = Record<string, unknown>;

/** What to do after ModelsLab refused a call (4xx other than auth and rate limits), per area. */
const NEXT = {
  team: 'Call modelslab_team with action list for the ids and states, then call again.',
  invoices: 'Call modelslab_invoices with action list for the invoice ids.',
  billing: 'Fix the fields ModelsLab named and call again; action get shows the profile as it is.',
  coupon: 'Check the code with modelslab_coupon action validate (codes are single-use per account).',
  autoFunding: 'Check the card with modelslab_payment_methods (a saved pm_…), then call again.',
  profile: 'Fix the fields ModelsLab named and call again; modelslab_profile shows the current values.',
  keys: 'Call modelslab_api_keys with action list for the ids.',
  password: 'Call modelslab_reset_password with action forgot for a fresh token, then reset with it.',
} as const;

/** A refusal (not an auth, rate-limit or server error) gets the next step of its area. */
function withNext<T>(next: string, work: Promise<T>): Promise<T> {
  return work.catch((error: unknown) => {
    if (
      error instanceof ProviderError &&
      error.status !== undefined &&
      error.status >= 400 &&
      error.status < 500 &&
      ![401, 403, 429].includes(error.status)
    )
      throw annotate(error, { next });
    throw error;
  });
}

interface TeamUpdate {
  role?: string;
  permissions?: string[];
  /** The hosted MCP's field name (notes §1.8); the docs say only "status". */
  invite_status?: 'pending' | 'accepted';
}

/** PUT /billing/info fields, as the hosted MCP and the skills name them (notes §1.5; the CLI's are wrong). */
export const BILLING_FIELDS = [
  'name',
  'email',
  'tax_id',
  'tax_id_type',
  'address_line1',
  'address_line2',
  'address_city',
  'address_state',
  'address_postal_code',
  'address_country',
] as const;

export type BillingInfoUpdate = Partial<Record<(typeof BILLING_FIELDS)[number], string>>;

export interface Preferences {
  nsfw_content?: boolean;
  wallet_notification_enabled?: boolean;
  wallet_notification_threshold?: number;
}

interface InvoiceLinks {
  pdf?: string;
  receipt?: string;
}

export class ModelslabAdmin {
  constructor(private readonly client: ModelslabClient) {}

  // ---------- team ----------

  team(signal?: AbortSignal): Promise<Row[]> {
    return this.call<unknown>('GET', '/teams', { signal }).then((d) => rows(d, 'members'));
  }

  invite(email: string, signal?: AbortSignal): Promise<Row> {
    return this.call('POST', '/teams', { json: { email }, signal });
  }

  member(id: number, signal?: AbortSignal): Promise<Row> {
    return this.call('GET', `/teams/${id}`, { signal });
  }

  updateMember(id: number, body: TeamUpdate, signal?: AbortSignal): Promise<Row> {
    return this.call('PUT', `/teams/${id}`, { json: body, signal });
  }

  removeMember(id: number, signal?: AbortSignal): Promise<Row> {
    return this.call('DELETE', `/teams/${id}`, { signal });
  }

  resendInvite(id: number, signal?: AbortSignal): Promise<Row> {
    return this.call('POST', `/teams/${id}/resend-invite`, { signal });
  }

  acceptInvite(inviteId: string, signal?: AbortSignal): Promise<Row> {
    return this.call('POST', `/teams/invitations/${encodeURIComponent(inviteId)}/accept`, { signal });
  }

  // ---------- invoices ----------

  invoices(signal?: AbortSignal): Promise<Row[]> {
    return this.call<unknown>('GET', '/billing/invoices', { signal }).then((d) => rows(d, 'invoices'));
  }

  invoice(id: string, signal?: AbortSignal): Promise<Row> {
    return this.call('GET', `/billing/invoices/${encodeURIComponent(id)}`, { signal });
  }

  /** "Invoice PDF/receipt URLs": the docs name no fields; Stripe's (`invoice_pdf`, `receipt_url`) and plainer ones are read. */
  async invoiceLinks(id: string, signal?: AbortSignal): Promise<InvoiceLinks> {
    const d = await this.call('GET', `/billing/invoices/${encodeURIComponent(id)}/pdf`, { signal });
    const url = (...keys: string[]) =>
      keys
        .map((k) => d[k])
        // A link, not a page of text: provider text reaches the model only bounded.
        .find((v): v is string => typeof v === 'string' && v.length <= 2048 && /^https?:\/\/\S+$/.test(v));
    return {
      pdf: url('invoice_pdf', 'pdf_url', 'pdf'),
      receipt: url('receipt_url', 'hosted_invoice_url', 'receipt'),
    };
  }

  // ---------- billing profile ----------

  billingInfo(signal?: AbortSignal): Promise<Row> {
    return this.call('GET', '/billing/info', { signal });
  }

  updateBillingInfo(body: BillingInfoUpdate, signal?: AbortSignal): Promise<Row> {
    return this.call('PUT', '/billing/info', { json: body, signal });
  }

  billingOverview(signal?: AbortSignal): Promise<Row> {
    return this.call('GET', '/billing/overview', { signal });
  }

  // ---------- coupons ----------

  validateCoupon(code: string, signal?: AbortSignal): Promise<Row> {
    return this.call('GET', '/wallet/coupons/validate', { query: { coupon_code: code }, signal });
  }

  redeemCoupon(code: string, idempotencyKey: string, signal?: AbortSignal): Promise<AgentsResponse<Row>> {
    return withNext(
      NEXT.coupon,
      this.client.request<Row>({
        method: 'POST',
        path: '/wallet/coupons/redeem',
        limiter: 'agent-billing',
        json: { coupon_code: code },
        idempotencyKey,
        signal,
      }),
    );
  }

  // ---------- auto-funding ----------

  /**
   * Body per the hosted MCP and skills (`auto_charge_amount`, `charge_threshold`; the CLI's `amount`/`threshold`
   * are wrong); `payment_method_id` is a documented guess. Only a 200/201 with a data object confirms it.
   */
  async setAutoFunding(
    body: { auto_charge_amount: number; charge_threshold: number; payment_method_id: string },
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<AgentsResponse<Row>> {
    const res = await withNext(
      NEXT.autoFunding,
      this.client.request<Row>({
        method: 'PUT',
        path: '/wallet/auto-funding',
        limiter: 'agent-billing',
        json: body,
        idempotencyKey,
        signal,
      }),
    );
    if ((res.status !== 200 && res.status !== 201) || res.data === null || typeof res.data !== 'object') {
      throw new OutcomeUnknownError(
        `ModelsLab answered PUT /wallet/auto-funding with HTTP ${res.status} and no data object, which does not confirm the setting.`,
        { facts: res.requestId ? [`Request id: ${res.requestId}.`] : [] },
      );
    }
    return res;
  }

  async disableAutoFunding(idempotencyKey: string, signal?: AbortSignal): Promise<void> {
    await this.client.request({
      method: 'DELETE',
      path: '/wallet/auto-funding',
      limiter: 'agent-billing',
      idempotencyKey,
      signal,
    });
  }

  // ---------- profile, keys, password ----------

  updateProfile(body: { name?: string; username?: string; about_me?: string }, signal?: AbortSignal) {
    return this.call('PATCH', '/me', { json: body, signal });
  }

  updatePreferences(body: Preferences, signal?: AbortSignal) {
    return this.call('PATCH', '/me/preferences', { json: body, signal });
  }

  apiKey(id: number, signal?: AbortSignal): Promise<ApiKeyInfo> {
    return this.call('GET', `/api-keys/${id}`, { signal }) as Promise<unknown> as Promise<ApiKeyInfo>;
  }

  updateApiKey(id: number, body: { name?: string; notes?: string }, signal?: AbortSignal) {
    return this.call('PUT', `/api-keys/${id}`, {
      json: body,
      signal,
    }) as Promise<unknown> as Promise<ApiKeyInfo>;
  }

  forgotPassword(email: string, signal?: AbortSignal): Promise<Row> {
    return this.call('POST', '/auth/forgot-password', { json: { email }, auth: false, signal });
  }

  resetPassword(
    body: { email: string; token: string; password: string },
    signal?: AbortSignal,
  ): Promise<Row> {
    return this.call('POST', '/auth/reset-password', {
      json: { ...body, password_confirmation: body.password },
      auth: false,
      signal,
    });
  }

  private async call<T = Row>(
    method: Method,
    path: string,
    opts: { json?: unknown; query?: Record<string, string>; auth?: boolean; signal?: AbortSignal },
  ): Promise<T> {
    const limiter: Limiter = opts.auth === false ? 'agent-auth' : 'agent-general';
    const { data } = await withNext(
      nextFor(path),
      this.client.request<T>({ method, path, limiter, ...opts }),
    );
    return (data ?? {}) as T;
  }
}

function nextFor(path: string): string {
  if (path.startsWith('/teams')) return NEXT.team;
  if (path.startsWith('/billing/invoices')) return NEXT.invoices;
  if (path.startsWith('/billing')) return NEXT.billing;
  if (path.startsWith('/wallet/coupons')) return NEXT.coupon;
  if (path.startsWith('/api-keys')) return NEXT.keys;
  if (path.startsWith('/auth')) return NEXT.password;
  return NEXT.profile;
}

/** A list answered as an array, or as an object holding one (`{items}`, `{data}`, or the named key). */
function rows(data: unknown, key: string): Row[] {
  const d = data as Record<string, unknown> | undefined;
  const list = Array.isArray(data) ? data : (d?.[key] ?? d?.items ?? d?.data);
  return Array.isArray(list) ? list.filter((r): r is Row => r !== null && typeof r === 'object') : [];
}
