import { randomBytes } from 'node:crypto';
import { ApiError, html, write } from '../core/exchange.js';
import type { MlUser, MlWalletEntry } from './accounts.js';
import type { AdminState } from './admin-state.js';
import { agentsRoute, ok, route, userOf, type ModelslabEnv, type ModelslabExchange } from './server.js';

/**
 * Invoices (billing-and-wallet.mdx: list, detail, "Invoice PDF/receipt URLs"): one per payment that credited the
 * wallet. The docs name no fields; these are Stripe's (`number`, `amount_paid`, `status`, `invoice_pdf`,
 * `receipt_url`). The PDF is served like Stripe's: a long unguessable link that needs no token.
 */
const INVOICED = new Set(['wallet_fund', 'sandbox_seed']);

export function invoicesOf(user: MlUser): MlWalletEntry[] {
  return user.wallet.filter((e) => e.type === 'credit' && INVOICED.has(e.usecase));
}

const invoiceId = (e: MlWalletEntry) => `in_sbx${e.id}`;

export function invoiceRoutes(state: AdminState) {
  return ({ accounts, server }: ModelslabEnv) => {
    const get = (path: string, run: (ctx: ModelslabExchange, p: string[]) => void) =>
      agentsRoute('GET', path, 'token', 'agent-general', run);
    const find = (user: MlUser, id: string) => {
      const entry = invoicesOf(user).find((e) => invoiceId(e) === id);
      if (!entry) throw new ApiError(404, 'not_found', `Invoice ${id} not found.`);
      return entry;
    };
    const view = (e: MlWalletEntry) => ({
      id: invoiceId(e),
      number: `SBX-${String(e.id).padStart(5, '0')}`,
      amount_paid: e.amountUsd,
      currency: 'usd',
      status: 'paid',
      description: e.usecase === 'wallet_fund' ? 'Wallet top-up' : 'Sandbox starting balance',
      created_at: new Date(e.at).toISOString(),
    });
    const secretOf = (id: string) => {
      let secret = state.invoiceLinks.get(id);
      if (!secret) state.invoiceLinks.set(id, (secret = randomBytes(16).toString('hex')));
      return secret;
    };
    const byLink = (id: string, secret: string) => {
      if (state.invoiceLinks.get(id) !== secret) return undefined;
      for (const user of accounts.users) {
        const entry = invoicesOf(user).find((e) => invoiceId(e) === id);
        if (entry) return entry;
      }
      return undefined;
    };

    const linked = (
      kind: string,
      suffix: string,
      answer: (ctx: ModelslabExchange, e: MlWalletEntry) => void,
    ) =>
      route(
        'GET',
        `/sandbox/${kind}/(in_sbx[0-9]+)/([0-9a-f]{32})${suffix}`,
        'none',
        undefined,
        (ctx, [id = '', s = '']) => {
          const entry = byLink(id, s);
          if (!entry) return html(ctx, 404, 'Not found', '<h1>No such document.</h1>');
          answer(ctx, entry);
        },
      );

    return [
      get('/billing/invoices', (ctx) => ok(ctx, invoicesOf(userOf(ctx)).slice().reverse().map(view))),
      get('/billing/invoices/([^/]+)', (ctx, [id = '']) => {
        const entry = find(userOf(ctx), id);
        ok(ctx, {
          ...view(entry),
          lines: [{ description: view(entry).description, amount: entry.amountUsd }],
        });
      }),
      get('/billing/invoices/([^/]+)/pdf', (ctx, [id = '']) => {
        const entry = find(userOf(ctx), id);
        const secret = secretOf(invoiceId(entry));
        ok(ctx, {
          invoice_id: invoiceId(entry),
          invoice_pdf: `${server.url}/sandbox/invoices/${invoiceId(entry)}/${secret}.pdf`,
          receipt_url: `${server.url}/sandbox/receipts/${invoiceId(entry)}/${secret}`,
        });
      }),
      // Stripe's invoice PDF and receipt pages, reached by their links alone (no token).
      linked('invoices', '\\.pdf', (ctx, entry) => {
        const body = invoicePdf(view(entry).number, entry.amountUsd, new Date(entry.at));
        write(ctx, 200, { 'Content-Type': 'application/pdf', 'Content-Length': String(body.length) }, body);
      }),
      linked('receipts', '', (ctx, entry) =>
        html(
          ctx,
          200,
          'Receipt',
          `<h1>Receipt ${view(entry).number}</h1><p>Paid $${entry.amountUsd.toFixed(2)}.</p>`,
        ),
      ),
    ];
  };
}

/** A small, valid one-page PDF (with its cross-reference table) that says what was paid. */
export function invoicePdf(number: string, amountUsd: number, at: Date): Buffer {
  const text = `(ModelsLab sandbox invoice ${number}: $${amountUsd.toFixed(2)} paid ${at.toISOString().slice(0, 10)}) Tj`;
  const content = `BT /F1 12 Tf 72 720 Td ${text} ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${content.length} >>\nstream\n${content}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
