import { z } from 'zod';
import { finish } from '../src/generation/pixelmuse.js';
import { reportOutcomes } from '../src/generation/report.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'get_generation',
  toolset: 'generate',
  providers: ['pixelmuse'],
  title: 'Resume or fetch a generation',
  description:
    'Picks up a generation job by id: waits for it if it is still running (with progress), then saves its images ' +
    'like generate_image and returns the paths and a preview. Use it after generate_image answered STILL RUNNING, ' +
    'or to save an earlier image again. Free: it never starts or charges a new job.',
  input: {
    provider: z.enum(['pixelmuse']).describe('The provider that runs the job.'),
    id: z.string().min(1).describe('Job id exactly as generate_image returned it, e.g. img_abc123.'),
    output_dir: z.string().min(1).optional().describe('Folder inside the output root. Created if missing.'),
    filename: z
      .string()
      .min(1)
      .optional()
      .describe('Base name without folders; the extension follows the real type.'),
    preview: z.boolean().optional().describe('Include a small inline preview (default true).'),
    max_wait_seconds: z
      .number()
      .int()
      .min(0)
      .max(600)
      .optional()
      .describe('How long to wait if still running (default 55).'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(args, ctx) {
    const target = await ctx.media.target({ outputDir: args.output_dir, filename: args.filename });
    const started = Date.now();
    const image = await ctx.pixelmuse.getImage(args.id, ctx.signal);
    const deadline = started + (args.max_wait_seconds ?? 55) * 1000;
    const settled = await Promise.allSettled([finish(ctx, image, { started, deadline, target })]);
    return reportOutcomes(settled, { media: ctx.media, preview: args.preview ?? true });
  },
});
