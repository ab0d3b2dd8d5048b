import type { AdminState } from './admin-state.js';
import { methodView, type BillingState } from './billing.js';
import { invoicesOf } from './invoices.js';
import { agentsRoute, ok, userOf, validationError, type ModelslabExchange } from './server.js';

/**
 * The billing profile (GET/PUT /billing/info) and the billing overview. The fields are the hosted MCP's and the
 * skills' (notes/modelslab.md §1.5); anything else in a PUT is refused, as are a tax id without its type and
 * a country that is not an ISO 3166 alpha-2 code. The list is the emulator's own reading of the documents, kept
 * apart from the client's (src/providers/modelslab/admin.ts) on purpose: shared, a misspelt field would pass both.
 */
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

/** Stripe's customer tax id types (a subset: the ones ModelsLab's customers are likely to have). */
const TAX_ID_TYPES = new Set([
  'eu_vat',
  'gb_vat',
  'us_ein',
  'ca_bn',
  'au_abn',
  'in_gst',
  'ch_vat',
  'no_vat',
  'jp_cn',
  'br_cnpj',
  'sg_uen',
]);

export function billingProfileRoutes(admin: AdminState, billing: BillingState) {
  return () => {
    const route = (method: string, path: string, run: (ctx: ModelslabExchange) => void) =>
      agentsRoute(method, path, 'token', 'agent-general', run);
    const profileOf = (ctx: ModelslabExchange) => {
      const user = userOf(ctx);
      const stored = admin.billingInfo.get(user.id) ?? {};
      const blank = Object.fromEntries(BILLING_FIELDS.map((f) => [f, null]));
      return { ...blank, name: user.name, email: user.email, ...stored };
    };
    return [
      route('GET', '/billing/info', (ctx) => ok(ctx, profileOf(ctx))),
      route('PUT', '/billing/info', (ctx) => {
        const problems: Record<string, string> = {};
        const fields = Object.keys(ctx.body);
        if (fields.length === 0) problems.name = 'Send at least one billing field.';
        for (const field of fields) {
          const value = ctx.body[field];
          if (!(BILLING_FIELDS as readonly string[]).includes(field))
            problems[field] = `The ${field} field is not a billing field.`;
          else if (value !== null && (typeof value !== 'string' || value.length > 200))
            problems[field] = `The ${field} must be a string of at most 200 characters.`;
        }
        const next = { ...profileOf(ctx), ...ctx.body } as Record<string, string | null>;
        if (typeof ctx.body.email === 'string' && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(ctx.body.email))
          problems.email = 'The email must be a valid email address.';
        if (next.tax_id && !next.tax_id_type)
          problems.tax_id_type = 'The tax id type field is required when tax id is present.';
        if (typeof ctx.body.tax_id_type === 'string' && !TAX_ID_TYPES.has(ctx.body.tax_id_type))
          problems.tax_id_type = 'The selected tax id type is invalid.';
        if (typeof ctx.body.address_country === 'string' && !/^[A-Z]{2}$/.test(ctx.body.address_country))
          problems.address_country = 'The address country must be a two-letter ISO code (e.g. DE).';
        if (Object.keys(problems).length) throw validationError(problems);
        admin.billingInfo.set(userOf(ctx).id, next);
        ok(ctx, { message: 'Billing information updated.', billing_info: profileOf(ctx) });
      }),
      route('GET', '/billing/overview', (ctx) => {
        const user = userOf(ctx);
        const auto = admin.autoFunding.get(user.id);
        ok(ctx, {
          wallet: {
            balance: user.walletUsd,
            currency: 'USD',
            auto_funding: auto ? { enabled: true, ...auto } : { enabled: false },
          },
          cards: (billing.methods.get(user.id) ?? []).map(methodView),
          subscriptions: user.subscriptions,
          invoice_count: invoicesOf(user).length,
        });
      }),
    ];
  };
}
