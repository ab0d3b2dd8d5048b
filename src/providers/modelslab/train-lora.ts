import type { ToolContext } from '../../context.js';
import { OutcomeUnknownError } from '../../errors.js';
import type { TrainingRecord } from '../../history/trainings.js';
import { readTrainingImage, type TrainingImage } from '../../media/training-images.js';
import type { ChargeAttempt, ChargeOutcome, SpendResult } from '../../spend/index.js';
import { nothingSent } from '../../spend/outcome.js';
import { modelslabGenerationClient } from './generation-client.js';
import {
  listTrainings,
  startTraining,
  trainingStatus,
  TRAINING_PRICE_USD,
  uploadTrainingImage,
  type StartedTraining,
} from './training.js';

/** The create request gets this long; it is never cancelled with the call (a training it makes is paid). */
const CREATE_MS = 120_000;

/** What an attempt keeps before the paid request leaves: the trainings that existed, to find ours after a loss. */
interface Memo extends Record<string, unknown> {
  sent: true;
  before: string[];
}

interface TrainLoraRequest {
  /** The documented fields but `images` and `key`. */
  body: Record<string, unknown> & { base_model_type: 'normal' | 'sdxl'; instance_prompt: string };
  images: TrainingImage[];
  /** Exactly what the human approves (the images as given). */
  consented: Record<string, unknown>;
  confirmationToken?: string;
}

/**
 * One LoRA training through src/spend/: after consent the local images are uploaded (free; a failure there
 * sends nothing paid), then the $1 request. ModelsLab takes no Idempotency-Key here, so a request whose answer
 * was lost is never resent: the same call looks for the training it made (an id new since the attempt began)
 * and books that one, or says the outcome is still unknown.
 */
export function trainLora(ctx: ToolContext, req: TrainLoraRequest): Promise<SpendResult<StartedTraining>> {
  const client = modelslabGenerationClient(ctx);
  const project = ctx.media.project();
  const record = (started: StartedTraining): Promise<TrainingRecord> =>
    ctx.trainings.save({
      id: started.trainingId,
      status: started.status.status,
      state: started.status.state,
      baseModelType: req.body.base_model_type,
      instancePrompt: req.body.instance_prompt,
      images: req.images.length,
      startedAt: new Date().toISOString(),
      ...(started.status.etaMinutes !== undefined ? { etaMinutes: started.status.etaMinutes } : {}),
    });

  const settleLost = async (memo: Memo): Promise<ChargeOutcome<StartedTraining>> => {
    const now = await listTrainings(client, { signal: ctx.signal }).catch((error: unknown) => {
      throw nothingSent(error);
    });
    const fresh = now.filter((id) => !memo.before.includes(id));
    if (fresh.length !== 1) {
      throw nothingSent(
        new OutcomeUnknownError(
          `An identical training request was sent earlier and its answer was lost; ModelsLab lists ${fresh.length} new training(s) since, so it is not sent again.`,
          {
            next: 'Call modelslab_training {action: "list"} to see the trainings, and spend_report for the hold.',
          },
        ),
      );
    }
    const id = fresh[0]!;
    const status = await trainingStatus(client, id, { signal: ctx.signal }).catch(() => ({
      status: 'unknown',
      state: 'running' as const,
    }));
    const started = { trainingId: id, status };
    await record(started);
    return { kind: 'confirmed', reference: id, replay: true, value: started };
  };

  const send = async (_key: string, attempt: ChargeAttempt): Promise<ChargeOutcome<StartedTraining>> => {
    if ((attempt.memo as Memo | undefined)?.sent) return settleLost(attempt.memo as Memo);
    const bounds = { signal: ctx.signal };
    let links: string[];
    let before: string[];
    try {
      before = await listTrainings(client, bounds);
      links = [];
      for (const [n, image] of req.images.entries()) {
        if ('url' in image) {
          links.push(image.url);
          continue;
        }
        ctx.progress(`Uploading image ${n + 1} of ${req.images.length} to ModelsLab (free)`);
        links.push(
          await uploadTrainingImage(client, await readTrainingImage(image.path, await project), bounds),
        );
      }
    } catch (error) {
      // Nothing paid has left: the uploads and the list are free.
      throw nothingSent(error);
    }
    await attempt.remember({ sent: true, before } satisfies Memo);
    ctx.progress(`Starting the training (${TRAINING_PRICE_USD} USD from the ModelsLab wallet)`);
    const started = await startTraining(
      client,
      { ...req.body, images: links },
      { deadline: Date.now() + CREATE_MS },
    );
    await record(started);
    return { kind: 'confirmed', reference: started.trainingId, replay: false, value: started };
  };

  return ctx.spend.charge({
    provider: 'modelslab',
    operation: 'modelslab.training.lora',
    tool: 'modelslab_train_lora',
    amountUsd: TRAINING_PRICE_USD,
    args: req.consented,
    what: `train a ModelsLab LoRA (${req.body.base_model_type}) on ${req.images.length} image(s)`,
    paymentMethod: 'the ModelsLab wallet',
    ...(req.confirmationToken !== undefined ? { confirmationToken: req.confirmationToken } : {}),
    send,
  });
}
