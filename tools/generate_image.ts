import { z } from 'zod';
import { UserInputError } from '../src/errors.js';
import { generateOnPixelmuse } from '../src/generation/pixelmuse.js';
import { reportOutcomes } from '../src/generation/report.js';
import { PIXELMUSE_ASPECT_RATIOS } from '../src/providers/pixelmuse/types.js';
import { defineTool } from './define.js';

export const DEFAULT_PIXELMUSE_MODEL = 'flux-schnell';
const DEFAULT_MAX_WAIT_S = 55;

export default defineTool({
  name: 'generate_image',
  toolset: 'generate',
  providers: ['pixelmuse'],
  title: 'Generate an image',
  description:
    'Generates images from a text prompt and saves them as files in the project. Use it whenever the user wants a ' +
    'picture, illustration, icon, hero image or mockup. Costs the model price per image (Pixelmuse: 1 credit for ' +
    'flux-schnell, more for pro models; see list_models or get_pricing). Waits for the job with progress, saves every ' +
    'output under the output folder with a unique name and returns the absolute paths, the job id, the credits ' +
    'charged, the elapsed time and a small preview. If the job is still running when max_wait_seconds runs out, ' +
    'the result says STILL RUNNING with the job id: call get_generation with it, do not generate again.',
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
      .describe(`Model id from list_models. Default ${DEFAULT_PIXELMUSE_MODEL} (cheapest, fast).`),
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
      .describe('Images to make, each a separate paid job. Default 1.'),
    input_image: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Reference image for image-to-image: a local file path (relative to the project) or an http(s) URL.',
      ),
    output_dir: z
      .string()
      .min(1)
      .optional()
      .describe('Folder inside the output root, e.g. "hero". Created if missing.'),
    filename: z
      .string()
      .min(1)
      .optional()
      .describe('Base name without folders, e.g. "landing-hero"; the extension follows the real image type.'),
    preview: z
      .boolean()
      .optional()
      .describe('Include a small inline preview (default true). False saves tokens.'),
    max_wait_seconds: z
      .number()
      .int()
      .min(1)
      .max(600)
      .optional()
      .describe(`How long to wait before handing back the job id (default ${DEFAULT_MAX_WAIT_S}).`),
    params: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'Provider-specific extra fields sent as they are, e.g. {"visibility":"public"} on Pixelmuse.',
      ),
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
    const settled = await generateOnPixelmuse(
      ctx,
      {
        ...args.params,
        prompt: args.prompt,
        model: args.model ?? DEFAULT_PIXELMUSE_MODEL,
        ...(args.aspect_ratio ? { aspect_ratio: args.aspect_ratio } : {}),
        ...(args.negative_prompt ? { negative_prompt: args.negative_prompt } : {}),
        ...(imageInput ? { image_input: imageInput } : {}),
      },
      { count, deadline: Date.now() + (args.max_wait_seconds ?? DEFAULT_MAX_WAIT_S) * 1000, target },
    );
    return reportOutcomes(settled, { media: ctx.media, preview: args.preview ?? true });
  },
});
