import type { Provider } from '../src/config.js';
import { adapterFor } from '../src/generation/adapters.js';
import { resume } from '../src/generation/engine.js';
import { reportOutcomes } from '../src/generation/report.js';
import { defineTool } from './define.js';
import { filename, id, max_wait_seconds, output_dir, preview, provider } from './params.js';

const DEFAULT_MAX_WAIT_S = 55;

export default defineTool({
  name: 'get_generation',
  toolset: 'generate',
  providers: ['pixelmuse', 'modelslab'],
  title: 'Resume or fetch a generation',
  description:
    'Resumes a job after a STILL RUNNING result (waits, then saves its images like generate_image), or saves ' +
    'an earlier image again. Free: never starts a new job.',
  input: (config) => ({
    provider: provider(config.providers as [Provider, ...Provider[]]),
    id,
    output_dir,
    filename,
    preview,
    max_wait_seconds: max_wait_seconds(DEFAULT_MAX_WAIT_S, 0),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(args, ctx) {
    const target = await ctx.media.target({ outputDir: args.output_dir, filename: args.filename });
    const deadline = Date.now() + (args.max_wait_seconds ?? DEFAULT_MAX_WAIT_S) * 1000;
    const preview = args.preview ?? true;
    const adapter = await adapterFor(args.provider, ctx);
    const settled = await resume(ctx, adapter, args.id, { deadline, target, preview });
    return reportOutcomes(settled, { media: ctx.media, generations: ctx.generations, preview });
  },
});
