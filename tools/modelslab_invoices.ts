import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { ModelslabAdmin } from '../src/providers/modelslab/admin.js';
import { amountOf, day, field, money } from '../src/providers/modelslab/admin-text.js';
import { defineTool } from './define.js';
import { filename, output_dir } from './params.js';

export default defineTool({
  name: 'modelslab_invoices',
  toolset: 'admin',
  providers: ['modelslab'],
  title: 'ModelsLab invoices',
  description:
    "ModelsLab invoices: list, get one, or pdf (its PDF and receipt links; save: true downloads the PDF into the project's output folder). Free.",
  input: {
    action: z.enum(['list', 'get', 'pdf']).optional().describe('Default list.'),
    id: z.string().min(1).max(100).optional().describe('Invoice id (list).'),
    save: z.boolean().optional().describe('pdf: download it.'),
    output_dir,
    filename,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ action = 'list', id, save, output_dir, filename }, ctx) {
    const admin = new ModelslabAdmin(ctx.modelslab);
    if (action === 'list') {
      const rows = await admin.invoices(ctx.signal);
      if (rows.length === 0) return 'The ModelsLab account has no invoices yet.';
      return [`${rows.length} ModelsLab invoice(s):`, ...rows.map((r) => `- ${describe(r)}`)].join('\n');
    }
    if (!id) {
      throw new UserInputError(`${action} needs the invoice id.`, {
        next: 'Call modelslab_invoices with action list for the ids.',
      });
    }
    if (action === 'get') {
      const invoice = await admin.invoice(id, ctx.signal);
      const lines = Array.isArray(invoice.lines) ? (invoice.lines as Array<Record<string, unknown>>) : [];
      return [
        `ModelsLab invoice ${describe(invoice)}`,
        ...lines
          .slice(0, 20)
          .map((l) => `- ${field(l, 'description') ?? 'item'}: ${money(amountOf(l, 'amount'))}`),
        'Next: action pdf for its PDF and receipt.',
      ].join('\n');
    }
    // The target is checked before anything is asked for, as for images.
    const target = save ? await ctx.media.target({ outputDir: output_dir, filename }) : undefined;
    const links = await admin.invoiceLinks(id, ctx.signal);
    const lines = [
      `ModelsLab invoice ${id}:`,
      `- PDF: ${links.pdf ?? 'not offered'}`,
      `- receipt: ${links.receipt ?? 'not offered'}`,
    ];
    if (!target) return [...lines, 'save: true downloads the PDF into the project.'].join('\n');
    if (!links.pdf) {
      throw new UserInputError(`ModelsLab offers no PDF for invoice ${id}; nothing was saved.`, {
        next: links.receipt ? `Open the receipt instead: ${links.receipt}` : 'Try again later.',
      });
    }
    const bytes = await ctx.media.loadPdf(links.pdf, { signal: ctx.signal, provider: 'modelslab' });
    const saved = await ctx.media.save(bytes, target, { fallbackName: `modelslab-invoice-${id}` });
    return [...lines, `Saved: ${saved.path} (${saved.bytes} bytes, ${saved.mimeType})`].join('\n');
  },
});

function describe(r: Record<string, unknown>): string {
  return [
    `${field(r, 'id') ?? '?'}${field(r, 'number') ? ` (${field(r, 'number')})` : ''}`,
    money(amountOf(r, 'amount_paid', 'amount', 'total')),
    field(r, 'status') ?? 'status not stated',
    day(r, 'created_at', 'date') ?? 'date not stated',
    ...(field(r, 'description') ? [field(r, 'description')] : []),
  ].join(', ');
}
