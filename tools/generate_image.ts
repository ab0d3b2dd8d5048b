import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { adapterFor } from '../src/generation/adapters.js';
import { chooseProvider } from '../src/generation/choose-provider.js';
import { generate } from '../src/generation/engine.js';
import { reportOutcomes } from '../src/generation/report.js';
import { buildModelslabRequest, modelslabFamily } from '../src/providers/modelslab/generation.js';
import { getModelslabModel } from '../src/providers/modelslab/models.js';
import { withTrainedLora } from '../src/providers/modelslab/trained.js';
import { generateWithMpp } from '../src/providers/pixelmuse/pay-per-image.js';
import type { Provider } from '../src/config.js';
import { PIXELMUSE_ASPECT_RATIOS, PIXELMUSE_GENERATE_FIELDS } from '../src/providers/pixelmuse/types.js';
import { defineTool } from './define.js';
import { confirmation_token, filename, max_wait_seconds, output_dir, preview, provider } from './params.js';

export const DEFAULT_PIXELMUSE_MODEL = 'flux-schnell';
const DEFAULT_MODELSLAB_MODEL = 'flux';
const DEFAULT_MAX_WAIT_S = 55;

export default defineTool({
  name: 'generate_image',
  toolset: 'generate',
  providers: ['pixelmuse', 'modelslab'],
  title: 'Generate an image',
  description:
    'Makes images from a prompt and saves them in the project. Costs the model price per image (Pixelmuse ' +
    'flux-schnell: 1 credit; ModelsLab flux: ~$0.01; list_models has prices). Returns paths, job id, cost, a ' +
    'preview. STILL RUNNING: call get_generation with the job id; never generate again. payment "mpp": one ' +
    'Pixelmuse image in USD, no account (default with no key): a quote first, then call again with its ' +
    'confirmation_token once the human approves.',
  input: (config) => ({
    provider: provider(config.providers as [Provider, ...Provider[]])
      .optional()
      .describe(`Provider that runs the job (default: the configured one, else ${config.defaultProvider}).`),
    prompt: z
      .string()
      .min(1)
      .max(10_000)
      .describe('What to draw. Be concrete: subject, style, lighting, composition.'),
    model: z
      .string()
      .min(1)
      .optional()
      .describe(
        `Model id from list_models (default ${DEFAULT_PIXELMUSE_MODEL} on Pixelmuse, ${DEFAULT_MODELSLAB_MODEL} on ModelsLab).`,
      ),
    negative_prompt: z.string().max(5_000).optional().describe('Things to keep out of the image.'),
    aspect_ratio: z
      .enum(PIXELMUSE_ASPECT_RATIOS)
      .optional()
      .describe('Default 1:1. 16:9 for hero banners, 9:16 for mobile.'),
    width: z
      .number()
      .int()
      .min(256)
      .max(2048)
      .optional()
      .describe('ModelsLab only, with height: exact size in px.'),
    height: z.number().int().min(256).max(2048).optional().describe('ModelsLab only, with width.'),
    seed: z.number().int().min(0).optional().describe('ModelsLab only: repeatable results.'),
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
      .describe(
        'Extra provider fields as given, e.g. {"visibility":"public"}; ModelsLab {"api_version":"v7"}.',
      ),
    payment: z.enum(['account', 'mpp']).optional().describe('mpp: pay per image (Pixelmuse).'),
    confirmation_token,
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(args, ctx) {
    // Validate everything local before anything is charged.
    const target = await ctx.media.target({ outputDir: args.output_dir, filename: args.filename });
    const imageInput = args.input_image ? await ctx.media.readInput(args.input_image) : undefined;
    const deadline = Date.now() + (args.max_wait_seconds ?? DEFAULT_MAX_WAIT_S) * 1000;
    if (args.payment === 'mpp' && args.provider === 'modelslab') {
      throw new UserInputError('payment "mpp" pays Pixelmuse only.', {
        next: 'Drop provider (or use "pixelmuse") to pay per image with MPP, or drop payment for ModelsLab.',
      });
    }
    const chosen =
      args.payment === 'mpp' ? 'pixelmuse' : await chooseProvider(args.provider, ctx.config, ctx.credentials);
    if (chosen === 'modelslab' && args.confirmation_token !== undefined) {
      throw new UserInputError('confirmation_token is only for payment "mpp" on Pixelmuse.', {
        next: 'Call again without confirmation_token.',
      });
    }
    const adapter = await adapterFor(chosen, ctx);
    let settled;
    if (chosen === 'modelslab') {
      // A LoRA trained with modelslab_train_lora runs on its base model (lora_model).
      const { model, params } = await withTrainedLora(
        ctx.trainings,
        args.model ?? DEFAULT_MODELSLAB_MODEL,
        args.params,
      );
      if ((args.width === undefined) !== (args.height === undefined))
        throw new UserInputError('width and height go together.', { next: 'Pass both, or aspect_ratio.' });
      // v7 image-to-image and v8 depend on what the model's own schema says (init_image's type, the endpoint);
      // without it (no credential for the catalogue, an outage) the documented defaults apply.
      const family = modelslabFamily({ model, params });
      const schema =
        family === 'v8' || (family === 'v7' && imageInput)
          ? await getModelslabModel(ctx, model).catch(() => undefined)
          : undefined;
      const request = buildModelslabRequest({ ...args, model, params, inputImage: imageInput, schema });
      // ModelsLab makes up to 4 images in one job (`samples`): one job, one charge per image.
      settled = await generate(ctx, adapter, request, {
        count: 1,
        deadline,
        target,
        model,
        preview: args.preview ?? true,
      });
    } else {
      const unsupported = (['width', 'height', 'seed'] as const).filter((k) => args[k] !== undefined);
      if (unsupported.length > 0) {
        throw new UserInputError(`Pixelmuse does not take ${unsupported.join(', ')}.`, {
          next: 'Use aspect_ratio on Pixelmuse, or provider "modelslab" for exact sizes and seeds.',
        });
      }
      const reserved = Object.keys(args.params ?? {}).filter((k) => ['prompt', 'model'].includes(k));
      if (reserved.length > 0) {
        throw new UserInputError(`params may not override ${reserved.join(' and ')}.`, {
          next: 'Pass prompt and model as their own arguments.',
        });
      }
      // Only fields of the OpenAPI GenerateImageRequest go into the body: anything else is a guess upstream.
      const unknown = Object.keys(args.params ?? {}).filter(
        (k) => !(PIXELMUSE_GENERATE_FIELDS as readonly string[]).includes(k),
      );
      if (unknown.length > 0) {
        throw new UserInputError(`Pixelmuse takes no ${unknown.map((k) => `"${k}"`).join(', ')} in params.`, {
          facts: [`Its generation request has only: ${PIXELMUSE_GENERATE_FIELDS.join(', ')}.`],
          next: 'Drop those params (e.g. {"visibility":"public"} is fine), or use provider "modelslab" for its fields.',
        });
      }
      const model = args.model ?? DEFAULT_PIXELMUSE_MODEL;
      const body = {
        ...args.params,
        prompt: args.prompt,
        model,
        ...(args.aspect_ratio ? { aspect_ratio: args.aspect_ratio } : {}),
        ...(args.negative_prompt ? { negative_prompt: args.negative_prompt } : {}),
        ...(imageInput ? { image_input: imageInput } : {}),
      };
      const count = args.count ?? 1;
      if (
        args.payment === 'mpp' ||
        (args.payment === undefined && !(await ctx.credentials.get('pixelmuse_api_key')))
      ) {
        const { confirmation_token: token, ...consented } = args;
        return generateWithMpp(ctx, body, {
          args: consented,
          confirmationToken: token,
          count,
          deadline,
          target,
          preview: args.preview ?? true,
        });
      }
      if (args.confirmation_token !== undefined) {
        throw new UserInputError('confirmation_token is only for payment "mpp".', {
          next: 'Call again without confirmation_token: credits of the configured key need no confirmation.',
        });
      }
      settled = await generate(ctx, adapter, body, {
        count,
        deadline,
        target,
        model,
        preview: args.preview ?? true,
      });
    }
    return reportOutcomes(settled, {
      media: ctx.media,
      generations: ctx.generations,
      preview: args.preview ?? true,
    });
  },
});
