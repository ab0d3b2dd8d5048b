import type { ToolContext } from '../../context.js';
import { formatError } from '../../error-format.js';
import { UserInputError } from '../../errors.js';
import { useLine } from '../../history/training-resources.js';
import type { Trainings } from '../../history/trainings.js';
import { modelslabGenerationClient } from './generation-client.js';
import { listTrainings, TRAINING_ID } from './training.js';

/**
 * generate_image with a trained LoRA: the documents put a LoRA in `lora_model` on top of a base `model_id`
 * (text2img; flux takes no LoRA trained on SD models). A `model` that is a training of ours becomes its base
 * (sdxl) with the LoRA; any other model passes unchanged.
 */
export async function withTrainedLora(
  trainings: Trainings,
  model: string,
  params: Record<string, unknown> | undefined,
): Promise<{ model: string; params: Record<string, unknown> | undefined }> {
  const training = TRAINING_ID.test(model) ? await trainings.get(model) : undefined;
  if (!training) return { model, params };
  if (training.state !== 'ready') {
    throw new UserInputError(`The LoRA training ${model} is ${training.status}, not model_ready.`, {
      next:
        training.state === 'running'
          ? `Call modelslab_training {action: "status", training_id: "${model}"} to wait for it.`
          : 'Train again with modelslab_train_lora.',
    });
  }
  if (training.baseModelType !== 'sdxl') {
    throw new UserInputError(`The LoRA ${model} was trained on SD 1.5 (base_model_type "normal").`, {
      next: `Use it on an SD 1.5 model: ${useLine(training)}.`,
    });
  }
  const earlier = typeof params?.lora_model === 'string' && params.lora_model ? `${params.lora_model},` : '';
  return { model: 'sdxl', params: { ...params, lora_model: `${earlier}${model}` } };
}

/**
 * The account's trained LoRAs: ModelsLab's list, with what this server knows of each. `quiet`: a failure becomes
 * one line (list_models, where it sits beside the models) instead of the error (modelslab_training list).
 */
export async function trainedModelsSection(
  ctx: ToolContext,
  opts: { quiet?: boolean } = {},
): Promise<string> {
  // Without a key there is nothing to list: list_models stays as it was for accounts that never trained.
  if (opts.quiet && !(await ctx.modelslab.apiKey())) return '';
  const known = new Map((await ctx.trainings.list()).map((r) => [r.id, r]));
  let ids: string[];
  try {
    ids = await listTrainings(modelslabGenerationClient(ctx), { signal: ctx.signal });
  } catch (error) {
    if (!opts.quiet) throw error;
    return `Your trained LoRAs: unavailable. ${formatError(error).split('\n').join(' ')}`;
  }
  if (ids.length === 0) return 'Your trained LoRAs: none yet (modelslab_train_lora trains one for $1).';
  const lines = ids.map((id) => {
    const r = known.get(id);
    return r
      ? `- ${id}: ${r.status}, ${r.baseModelType}, "${r.instancePrompt.slice(0, 60)}"${r.state === 'ready' ? `; ${useLine(r)}` : ''}`
      : `- ${id}: started elsewhere; modelslab_training {action: "status", training_id: "${id}"} follows it`;
  });
  return [`Your trained LoRAs (${ids.length}):`, ...lines].join('\n');
}
