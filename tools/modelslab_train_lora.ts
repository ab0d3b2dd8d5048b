import * as z from 'zod';
import { ConfigurationError, UserInputError } from '../src/errors.js';
import { trainingUri } from '../src/history/training-resources.js';
import { collectTrainingImages, MAX_TRAINING_IMAGES } from '../src/media/training-images.js';
import { MISSING_KEY_NEXT } from '../src/providers/modelslab/errors.js';
import { trainLora } from '../src/providers/modelslab/train-lora.js';
import { quoteProvider } from '../src/generation/outcome.js';
import { defineTool } from './define.js';
import { confirmation_token } from './params.js';

/** The other documented LoraTrainingRequest fields (training/openapi.json), through `params`. */
const PARAMS = {
  lora_type: z.enum(['lora', 'lycoris']),
  seed: z.union([z.string().regex(/^\d+$/), z.number().int().min(0)]).transform(String),
  webhook: z.string().url(),
  wandb_key: z.string().min(1),
};

export default defineTool({
  name: 'modelslab_train_lora',
  toolset: 'train',
  providers: ['modelslab'],
  title: 'Train a ModelsLab LoRA',
  description:
    'Trains a LoRA (a style, product or person) on 7-20 pictures; costs $1 from the ModelsLab wallet. Asks the ' +
    'human first (a form, or a quote whose confirmation_token you pass back). Returns the training id at once; ' +
    'follow it with modelslab_training.',
  input: {
    images: z
      .array(z.string().min(1))
      .min(1)
      .max(MAX_TRAINING_IMAGES)
      .describe('Project folder, project files, or http(s) URLs.'),
    instance_prompt: z
      .string()
      .min(1)
      .max(500)
      .describe('Names the subject with a rare token, e.g. "photo of zxq mug".'),
    class_prompt: z.string().min(1).max(500).describe('Its class, e.g. "photo of a mug".'),
    base_model_type: z.enum(['sdxl', 'normal']).optional().describe('Default sdxl; normal is SD 1.5.'),
    training_type: z
      .enum(['null', 'men', 'women', 'female', 'couple'])
      .optional()
      .describe('Faces: men/women/couple; else null (default).'),
    negative_prompt: z.string().max(2_000).optional(),
    max_train_steps: z.number().int().min(10).max(50).optional().describe('Default 2 per image.'),
    params: z.record(z.string(), z.unknown()).optional().describe('lora_type, seed, webhook, wandb_key.'),
    confirmation_token,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  movesMoney: true,
  async run(args, ctx) {
    // Everything local is checked before anything is asked or sent.
    if (!(await ctx.modelslab.apiKey()))
      throw new ConfigurationError('No ModelsLab API key is configured.', { next: MISSING_KEY_NEXT });
    const extra = z
      .object(PARAMS)
      .strict()
      .partial()
      .safeParse(args.params ?? {});
    if (!extra.success) {
      throw new UserInputError(
        `params: ${extra.error.issues.map((i) => `${i.path.join('.') || 'params'} ${i.message}`).join('; ')}.`,
        {
          next: 'params takes only lora_type ("lora"/"lycoris"), seed, webhook (a URL) and wandb_key.',
        },
      );
    }
    const images = await collectTrainingImages(args.images, await ctx.media.project());
    const base = args.base_model_type ?? 'sdxl';
    const steps = args.max_train_steps ?? Math.min(50, Math.max(10, 2 * images.length));
    // The documents send every scalar as a string.
    const body = {
      instance_prompt: args.instance_prompt,
      class_prompt: args.class_prompt,
      base_model_type: base,
      training_type: args.training_type ?? 'null',
      max_train_steps: String(steps),
      ...(args.negative_prompt ? { negative_prompt: args.negative_prompt } : {}),
      ...extra.data,
    };
    const result = await trainLora(ctx, {
      body,
      images,
      consented: { ...body, images: args.images },
      confirmationToken: args.confirmation_token,
    });
    if (result.status !== 'done') return result.text;
    const { trainingId: id, status } = result.outcome.value;
    return [
      `Training ${id} started: ${status.status}${status.log ? ` (${quoteProvider('modelslab', status.log)})` : ''}.`,
      `Charged $1.00 from the ModelsLab wallet (${result.outcome.reference}); ${result.consent}; recorded in the local ledger (spend_report).`,
      ...(result.outcome.kind === 'confirmed' && result.outcome.replay
        ? ['The earlier request made this training: charged once, not twice.']
        : []),
      `Resource: ${trainingUri(id)}. The model id is ${id} once it is model_ready.`,
      `Next: modelslab_training {action: "status", training_id: "${id}"} waits with progress (training takes many minutes).`,
    ].join('\n');
  },
});
