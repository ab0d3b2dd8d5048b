import { ResourceNotFound } from './resources.js';
import type { TrainingRecord, Trainings } from './trainings.js';

export const TRAINING_URI_TEMPLATE = 'atelier://trainings/{id}';
const URI_PREFIX = 'atelier://trainings/';

export function trainingUri(id: string): string {
  return `${URI_PREFIX}${encodeURIComponent(id)}`;
}

export function isTrainingUri(uri: string): boolean {
  return uri.startsWith(URI_PREFIX);
}

/** How to generate with a trained LoRA, for results and resources alike. */
export function useLine(r: Pick<TrainingRecord, 'id' | 'baseModelType'>): string {
  return r.baseModelType === 'sdxl'
    ? `generate_image {provider: "modelslab", model: "${r.id}", prompt: "…"} (sdxl with this LoRA)`
    : `generate_image {provider: "modelslab", model: "<an SD 1.5 model>", params: {lora_model: "${r.id}"}, prompt: "…"}`;
}

/** The record as the human and the model read it. */
export function describeTraining(r: TrainingRecord): string {
  return [
    `ModelsLab LoRA training ${r.id}: ${r.status} (${r.state})`,
    `base model: ${r.baseModelType}; ${r.images} image(s); instance prompt: ${JSON.stringify(r.instancePrompt)}`,
    `started ${r.startedAt}; last seen ${r.updatedAt}`,
    r.state === 'ready'
      ? `Use: ${useLine(r)}`
      : r.state === 'running'
        ? `Follow: modelslab_training {action: "status", training_id: "${r.id}"}`
        : '',
  ]
    .filter(Boolean)
    .join('\n');
}

export async function listTrainingResources(trainings: Trainings) {
  return (await trainings.list())
    .filter((r) => r.state !== 'deleted')
    .map((r) => ({
      uri: trainingUri(r.id),
      name: `training-${r.id}`,
      title: `LoRA ${r.id}: ${r.status}`,
      description: describeTraining(r),
      mimeType: 'text/plain',
      annotations: { lastModified: r.updatedAt },
    }));
}

/** The last known state of a training (no request to ModelsLab: modelslab_training refreshes it). */
export async function readTraining(trainings: Trainings, uri: string) {
  let id: string | undefined;
  try {
    id = decodeURIComponent(uri.slice(URI_PREFIX.length));
  } catch {
    id = undefined;
  }
  const record = id ? await trainings.get(id) : undefined;
  if (!record || record.state === 'deleted') {
    throw new ResourceNotFound(`No training at ${uri}.`, {
      next: 'modelslab_training {action: "list"} lists the trainings of the account.',
    });
  }
  return { contents: [{ uri, mimeType: 'text/plain', text: describeTraining(record) }] };
}
