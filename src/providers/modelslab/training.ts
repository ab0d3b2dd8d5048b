import { annotate, ProviderError } from '../../errors.js';
import { quoteProvider } from '../../generation/outcome.js';
import type { ModelslabAnswer, ModelslabGenerationClient } from './generation-client.js';

/**
 * LoRA training on ModelsLab (training/*.mdx, /api/v3): uploads go through base64_crop (it returns a link and
 * crops to the 512x512 the training wants), a training costs $1 from the wallet, and its status walks the
 * documented list below. None of these endpoints takes an Idempotency-Key, so a create is never resent.
 */

/** The documented statuses, in order (lora-finetune.mdx "Training Status Values"). */
export const TRAINING_STATUSES = [
  'deploying_gpu',
  'training_started',
  'training_success',
  'trained_model_compressing',
  'trained_model_uploading',
  'trained_model_uploaded',
  'deploying_model',
  'model_ready',
] as const;

export const TRAINING_PRICE_USD = 1;

const PATHS = {
  upload: '/api/v3/base64_crop',
  train: '/api/v3/lora_fine_tune',
  status: '/api/v3/fine_tune_status/',
  list: '/api/v3/finetune_list',
  // The openapi spelling; the page's curl shows "cancle_training".
  cancel: '/api/v3/cancel_training/',
  delete: '/api/v3/finetune/delete/',
};

export type TrainingState = 'running' | 'ready' | 'failed' | 'canceled';

export interface TrainingStatus {
  /** ModelsLab's own word: one of TRAINING_STATUSES, or what it said instead. */
  status: string;
  state: TrainingState;
  /** Minutes ModelsLab still expects, from its log ("ETA : 15 minutes", "upto 30 minutes"). */
  etaMinutes?: number;
  /** The log ModelsLab sent, capped and quoted. */
  log?: string;
}

/** A training id goes into a URL path: letters and digits as ModelsLab issues them. */
export const TRAINING_ID = /^[A-Za-z0-9_-]{1,64}$/;

const SEND = { retryable: false };
const READ = { retryable: true };
type Bounds = { signal?: AbortSignal; deadline?: number };

function refused(client: ModelslabGenerationClient, answer: ModelslabAnswer): void {
  if (answer.status === 'error') throw client.refusal(answer);
}

const LIST_NEXT = 'Call modelslab_training {action: "list"} for the trainings of this account.';

/** A 404 or a refusal about one training: the next step is the list, not the API keys. */
async function aboutTraining<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (error instanceof ProviderError && (error.status === 404 || error.status === 200))
      throw annotate(error, { next: LIST_NEXT });
    throw error;
  }
}

/** Uploads one image (a data: URL) and returns the link the training request takes. */
export async function uploadTrainingImage(
  client: ModelslabGenerationClient,
  dataUrl: string,
  bounds: Bounds,
): Promise<string> {
  const reply = await client.send(PATHS.upload, { image: dataUrl, crop: 'true' }, bounds, READ);
  refused(client, reply.answer);
  const link = reply.answer.link;
  if (typeof link !== 'string' || !/^https?:\/\//i.test(link)) {
    throw new ProviderError({
      provider: 'modelslab',
      status: reply.status,
      code: 'unexpected_response',
      requestId: reply.requestId,
      message: 'ModelsLab answered the image upload (base64_crop) without a link.',
      body: reply.answer,
    });
  }
  return link;
}

export interface StartedTraining {
  trainingId: string;
  status: TrainingStatus;
  requestId?: string;
}

/** The paid request: one training for $1 from the wallet. */
export async function startTraining(
  client: ModelslabGenerationClient,
  body: Record<string, unknown>,
  bounds: Bounds,
): Promise<StartedTraining> {
  const reply = await client.send(PATHS.train, body, bounds, SEND);
  refused(client, reply.answer);
  const id = reply.answer.training_id;
  if (typeof id !== 'string' || !TRAINING_ID.test(id)) {
    throw new ProviderError({
      provider: 'modelslab',
      status: reply.status,
      code: 'unexpected_response',
      requestId: reply.requestId,
      message: `ModelsLab answered the training request without a usable training_id (${JSON.stringify(id ?? null).slice(0, 40)}).`,
      next: 'Do not train again yet: the training may exist and be charged; modelslab_training {action: "list"} shows it.',
      body: reply.answer,
    });
  }
  return { trainingId: id, status: statusOf(reply.answer), requestId: reply.requestId };
}

export function trainingStatus(
  client: ModelslabGenerationClient,
  id: string,
  bounds: Bounds,
): Promise<TrainingStatus> {
  return aboutTraining(client.post(`${PATHS.status}${id}`, {}, bounds, READ).then(statusOf));
}

/** The ids of the account's trained models (finetune_list). */
export async function listTrainings(client: ModelslabGenerationClient, bounds: Bounds): Promise<string[]> {
  const answer = await client.post(PATHS.list, {}, bounds, READ);
  refused(client, answer);
  return Array.isArray(answer.data)
    ? answer.data.filter((id): id is string => typeof id === 'string' && TRAINING_ID.test(id))
    : [];
}

/** Cancel or delete one training; resolves with ModelsLab's words. */
export async function changeTraining(
  client: ModelslabGenerationClient,
  action: 'cancel' | 'delete',
  id: string,
  bounds: Bounds,
): Promise<string> {
  const answer = await aboutTraining(client.post(`${PATHS[action]}${id}`, {}, bounds, SEND));
  refused(client, answer);
  return quoteProvider('modelslab', String(answer.messege ?? answer.message ?? 'done'));
}

/** One answer of lora_fine_tune or fine_tune_status as a status. */
function statusOf(answer: ModelslabAnswer): TrainingStatus {
  const word = String(answer.messege ?? answer.message ?? 'unknown').slice(0, 60);
  const log = typeof answer.data === 'string' ? answer.data.slice(-600) : undefined;
  const state: TrainingState =
    answer.status === 'failed' || answer.status === 'error' || /fail/i.test(word)
      ? 'failed'
      : /cancel/i.test(word)
        ? 'canceled'
        : word === 'model_ready'
          ? 'ready'
          : 'running';
  return { status: word, state, ...etaOf(log, state), ...(log ? { log } : {}) };
}

/** The last ETA in the log ("ETA : 15 minutes", "it will take upto 30 minutes."). */
function etaOf(log: string | undefined, state: TrainingState): { etaMinutes?: number } {
  if (!log || state !== 'running') return {};
  const all = [...log.matchAll(/(?:ETA\s*:|upto)\s*(\d+(?:\.\d+)?)\s*min/gi)];
  const last = all.at(-1);
  return last ? { etaMinutes: Number(last[1]) } : {};
}

/** Where a status stands in the documented list, 1-based, for "step 3 of 8". */
export function stepOf(status: string): number | undefined {
  const i = (TRAINING_STATUSES as readonly string[]).indexOf(status);
  return i === -1 ? undefined : i + 1;
}
