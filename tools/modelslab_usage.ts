import * as z from 'zod';
import { defineTool } from './define.js';

// A plain string: a date pattern would cost more tokens than the ModelsLab 422 it saves.
const date = z.string().max(10).optional();

export default defineTool({
  name: 'modelslab_usage',
  toolset: 'account',
  providers: ['modelslab'],
  title: 'ModelsLab usage',
  description:
    'ModelsLab usage and spend: summary (this period, limits, wallet), per product, or request history. ' +
    'Free; needs the access token.',
  input: {
    view: z.enum(['summary', 'products', 'history']).optional().describe('Default summary.'),
    from: date.describe('history: first day, YYYY-MM-DD.'),
    to: date.describe('history: last day.'),
    limit: z.number().int().min(1).max(200).optional().describe('history: rows, default 100.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ view = 'summary', from, to, limit }, ctx) {
    if (view === 'history') {
      const rows = await ctx.modelslab.usageHistory({ from, to, limit }, ctx.signal);
      if (rows.length === 0) return 'No ModelsLab usage in that range.';
      return [
        `ModelsLab usage history (${rows.length} rows, newest first):`,
        ...rows.map((r) => `- ${flat(r)}`),
      ].join('\n');
    }
    if (view === 'products') {
      const rows = await ctx.modelslab.usageProducts(ctx.signal);
      if (rows.length === 0) return 'No ModelsLab product usage yet.';
      return ['ModelsLab usage per product:', ...rows.map((r) => `- ${flat(r)}`)].join('\n');
    }
    const summary = await ctx.modelslab.usageSummary(ctx.signal);
    return [
      'ModelsLab usage summary:',
      ...Object.entries(summary).map(([k, v]) => `- ${k}: ${flat(v)}`),
    ].join('\n');
  },
});

/** The docs do not pin these shapes down: print whatever fields come back, one line each. */
function flat(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  return Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k} ${typeof v === 'object' ? flat(v) : String(v)}`)
    .join(', ');
}
