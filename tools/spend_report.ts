import * as z from 'zod';
import { renderSpendReport } from '../src/spend/report.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'spend_report',
  toolset: 'account',
  providers: ['modelslab', 'pixelmuse'],
  title: 'Spend report',
  description:
    "The local ledger of atelier-mcp's charges: totals per UTC day and provider, references, today's spend " +
    'against the caps, charges held (in flight, unknown, 3-D Secure). Free; offline.',
  input: {
    days: z.number().int().min(1).max(366).optional().describe('UTC days back (default 30).'),
    provider: z.enum(['modelslab', 'pixelmuse']).optional().describe('Only this one.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run({ days = 30, provider }, ctx) {
    const overview = await ctx.spend.overview();
    // An unreadable ledger blocks charges; the report still shows what can be read, and why.
    const today = overview.problems.length ? undefined : await ctx.spend.today();
    return renderSpendReport(overview, today, { days, provider });
  },
});
