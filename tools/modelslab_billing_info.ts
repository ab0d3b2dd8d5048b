import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { BILLING_FIELDS, ModelslabAdmin } from '../src/providers/modelslab/admin.js';
import { amountOf, field, money } from '../src/providers/modelslab/admin-text.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_billing_info',
  toolset: 'admin',
  providers: ['modelslab'],
  title: 'ModelsLab billing profile',
  description:
    'The billing profile on ModelsLab invoices (name, email, VAT/tax id, address): get, or update the fields ' +
    'given; overview: wallet, cards, subscriptions and invoice count. Free.',
  input: {
    action: z.enum(['get', 'update', 'overview']).optional().describe('Default get.'),
    fields: z
      .partialRecord(z.enum(BILLING_FIELDS), z.string().max(200))
      .optional()
      .describe(
        'update: only what changes; tax_id needs tax_id_type (eu_vat, us_ein…); address_country: ISO, e.g. DE.',
      ),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ action = 'get', fields }, ctx) {
    const admin = new ModelslabAdmin(ctx.modelslab);
    if (action === 'overview') return overview(await admin.billingOverview(ctx.signal));
    if (action === 'update') {
      if (!fields || Object.keys(fields).length === 0) {
        throw new UserInputError('update needs fields to change.', {
          next: 'Call again with fields, e.g. {tax_id, tax_id_type}.',
        });
      }
      const answer = await admin.updateBillingInfo(fields, ctx.signal);
      return `Updated the ModelsLab billing profile.\n${profile((answer.billing_info ?? answer) as Record<string, unknown>)}`;
    }
    return profile(await admin.billingInfo(ctx.signal));
  },
});

function profile(info: Record<string, unknown>): string {
  const address = [
    'address_line1',
    'address_line2',
    'address_postal_code',
    'address_city',
    'address_state',
    'address_country',
  ]
    .map((k) => field(info, k))
    .filter(Boolean)
    .join(', ');
  const taxId = field(info, 'tax_id');
  return [
    `ModelsLab billing profile: ${field(info, 'name') ?? '(no name)'} <${field(info, 'email') ?? 'no email'}>`,
    `- tax id: ${taxId ? `${taxId} (${field(info, 'tax_id_type') ?? 'type not stated'})` : 'none'}`,
    `- address: ${address || 'none'}`,
  ].join('\n');
}

function overview(o: Record<string, unknown>): string {
  const wallet = (o.wallet ?? {}) as Record<string, unknown>;
  const cards = Array.isArray(o.cards) ? (o.cards as Array<Record<string, unknown>>) : [];
  const subs = Array.isArray(o.subscriptions) ? (o.subscriptions as Array<Record<string, unknown>>) : [];
  const auto = (wallet.auto_funding ?? {}) as Record<string, unknown>;
  return [
    'ModelsLab billing overview:',
    `- wallet: ${money(amountOf(wallet, 'balance') ?? amountOf(o, 'wallet_balance'))}` +
      (auto.enabled === true
        ? `; auto-funding on: ${money(amountOf(auto, 'auto_charge_amount'))} when under ${money(amountOf(auto, 'charge_threshold'))}`
        : auto.enabled === false
          ? '; auto-funding off'
          : ''),
    `- cards: ${cards.length === 0 ? 'none' : cards.map((c) => `${field(c, 'brand') ?? 'card'} •••• ${field(c, 'last4') ?? '?'} (${field(c, 'id') ?? '?'})${c.is_default ? ' default' : ''}`).join('; ')}`,
    `- subscriptions: ${subs.length === 0 ? 'none' : subs.map((s) => `${field(s, 'plan_name', 'name', 'plan_id') ?? 'plan'} ${field(s, 'status') ?? ''}`.trim()).join('; ')}`,
    `- invoices: ${field(o, 'invoice_count') ?? 'count not stated'} (modelslab_invoices)`,
  ].join('\n');
}
