import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { PIXELMUSE_ASPECT_RATIOS } from '../src/providers/pixelmuse/types.js';
import { defineTool } from './define.js';
import { filename, max_wait_seconds, output_dir, preview } from './params.js';

export const DEFAULT_PIXELMUSE_MODEL = 'flux-schnell';
const DEFAULT_MAX_WAIT_S = 55;

export default defineTool({
  name: 'generate_image',
  toolset: 'generate',
  providers: ['pixelmuse'],
  title: 'Generate an image',
  description:
    'Makes images from a text prompt and saves them as files in the project: use it whenever the user wants a ' +
    'picture, icon, illustration or mockup. Costs the model price per image (Pixelmuse flux-schnell: 1 credit; ' +
    'list_models shows prices). Returns the saved paths, job id, credits charged and a preview. If it says STILL ' +
    'RUNNING, call get_generation with the job id; do not generate again.',
  input: {
    prompt: z
      .string()
      .min(1)
      .max(10_000)
      .describe('What to draw. Be concrete: subject, style, lighting, composition.'),
    model: z
      .string()
      .min(1)
      .optional()
      .describe(`Model id from list_models (default ${DEFAULT_PIXELMUSE_MODEL}, cheapest).`),
    negative_prompt: z.string().max(5_000).optional().describe('Things to keep out of the image.'),
    aspect_ratio: z
      .enum(PIXELMUSE_ASPECT_RATIOS)
      .optional()
      .describe('Default 1:1. 16:9 for hero banners, 9:16 for mobile.'),
    count: z
      .number()
      .int()
      .min(1)
      .max(4)
      .optional()
      .describe('Images to make, each paid separately (default 1).'),
    input_image: z
      .string()
      .min(1)
      .optional()
      .describe('Reference image for image-to-image: a project file path or an http(s) URL.'),
    output_dir,
    filename,
    preview,
    max_wait_seconds: max_wait_seconds(DEFAULT_MAX_WAIT_S),
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Extra provider fields sent as given, e.g. {"visibility":"public"}.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(args, ctx) {
    // Validate everything local before anything is charged.
    const target = await ctx.media.target({ outputDir: args.output_dir, filename: args.filename });
    const count = args.count ?? 1;
    const imageInput = args.input_image ? await ctx.media.readInput(args.input_image) : undefined;
    const reserved = Object.keys(args.params ?? {}).filter((k) => ['prompt', 'model'].includes(k));
    if (reserved.length > 0) {
      throw new UserInputError(`params may not override ${reserved.join(' and ')}.`, {
        next: 'Pass prompt and model as their own arguments.',
      });
    }
    const [{ generate }, { pixelmuseAdapter }, { reportOutcomes }] = await Promise.all([
      import('../src/generation/engine.js'),
      import('../src/providers/pixelmuse/generation.js'),
      import('../src/generation/report.js'),
    ]);
    const model = args.model ?? DEFAULT_PIXELMUSE_MODEL;
    const settled = await generate(
      ctx,
      pixelmuseAdapter(ctx.pixelmuse),
      {
        ...args.params,
        prompt: args.prompt,
        model,
        ...(args.aspect_ratio ? { aspect_ratio: args.aspect_ratio } : {}),
        ...(args.negative_prompt ? { negative_prompt: args.negative_prompt } : {}),
        ...(imageInput ? { image_input: imageInput } : {}),
      },
      { count, deadline: Date.now() + (args.max_wait_seconds ?? DEFAULT_MAX_WAIT_S) * 1000, target, model },
    );
    return reportOutcomes(settled, {
      media: ctx.media,
      generations: ctx.generations,
      preview: args.preview ?? true,
    });
  },
});
