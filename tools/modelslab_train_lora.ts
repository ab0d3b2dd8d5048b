import * as z from 'zod';
import { annotate, ConfigurationError, OutcomeUnknownError, UserInputError } from '../src/errors.js';
import { isUnknownOutcome } from '../src/spend/outcome.js';
import { trainingUri } from '../src/history/training-resources.js';
import { collectTrainingImages } from '../src/media/training-images.js';
import { MISSING_KEY_NEXT } from '../src/providers/modelslab/errors.js';
import { trainLora } from '../src/providers/modelslab/train-lora.js';
import { quoteProvider } from '../src/generation/outcome.js';
import { defineTool } from './define.js';
import { confirmation_token } from './params.js';
import { holdSecret } from '../src/redact.js';

/** The other documented LoraTrainingRequest fields (training/openapi.json), through `params`. */
const PARAMS = {
  max_train_steps: z.coerce.number().int().min(10).max(50).transform(String),
  lora_type: z.enum(['lora', 'lycoris']),
  seed: z.union([z.string().regex(/^\d+$/), z.number().int().min(0)]).transform(String),
  webhook: z.string().url(),
  wandb_key: z.string().min(1),
};

export default defineTool({
  name: 'modelslab_train_lora',
  toolset: 'train',
  providers: ['modelslab'],
  title: 'Train a LoRA',
  description:
    'Trains a LoRA on 7-20 images (project folder, files or URLs); costs $1 from the ModelsLab wallet, with ' +
    "the human's consent. Then: modelslab_training.",
  input: {
    // Counted (at most 30) once folders are expanded, before anything is sent.
    images: z.array(z.string()),
    instance_prompt: z.string(),
    class_prompt: z.string(),
    base_model_type: z.enum(['sdxl', 'normal']).optional(),
    training_type: z.enum(['men', 'women', 'couple']).optional(),
    negative_prompt: z.string().optional(),
    params: z.record(z.string(), z.unknown()).optional().describe('max_train_steps, lora_type, seed'),
    confirmation_token,
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  movesMoney: true,
  async run(args, ctx) {
    // Everything local is checked before anything is asked or sent.
    if (!(await ctx.modelslab.apiKey()))
      throw new ConfigurationError('No ModelsLab API key is configured.', { next: MISSING_KEY_NEXT });
    for (const [name, max] of [
      ['instance_prompt', 500],
      ['class_prompt', 500],
      ['negative_prompt', 2_000],
    ] as const) {
      const value = args[name];
      if (value !== undefined && (value.trim() === '' || Buffer.byteLength(value) > max))
        throw new UserInputError(`${name} must be 1 to ${max} bytes.`, {
          next:
            name === 'instance_prompt'
              ? 'Name the subject with a rare word, e.g. "photo of zxq mug".'
              : `Shorten ${name}.`,
        });
    }
    const extra = z
      .object(PARAMS)
      .strict()
      .partial()
      .safeParse(args.params ?? {});
    if (!extra.success) {
      throw new UserInputError(
        `params: ${extra.error.issues.map((i) => `${i.path.join('.') || 'params'} ${i.message}`).join('; ')}.`,
        {
          next: 'params takes only max_train_steps (10-50), lora_type ("lora"/"lycoris"), seed, webhook (a URL) and wandb_key.',
        },
      );
    }
    // A Weights & Biases key is a secret like ours: masked wherever it would come back (an error echoing the body).
    if (extra.data.wandb_key) holdSecret(extra.data.wandb_key);
    const images = await collectTrainingImages(args.images, await ctx.media.project());
    const base = args.base_model_type ?? 'sdxl';
    // Documented: "Set at 2 times the number of images (Ni*2); minimum value is 10 and maximum value is 50".
    const steps = Math.min(50, Math.max(10, 2 * images.length));
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
    }).catch((error: unknown) => {
      // ModelsLab takes no Idempotency-Key here: the same call resends nothing, it looks for the training made.
      throw isUnknownOutcome(error) || error instanceof OutcomeUnknownError
        ? annotate(error, {
            next:
              'Call modelslab_train_lora again with the same arguments: it sends no second training, it finds the ' +
              'one ModelsLab made (finetune_list) and books it. modelslab_training {action: "list"} shows it meanwhile.',
          })
        : error;
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
