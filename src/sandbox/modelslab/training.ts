import { ApiError, json, write } from '../core/exchange.js';
import { hex } from '../core/server.js';
import { isImage, sniff } from '../../media/sniff.js';
import type { MlUser } from './accounts.js';
import {
  route,
  type ModelslabEnv,
  type ModelslabExchange,
  type ModelslabRoute,
  type RouteModule,
} from './server.js';

/**
 * LoRA training (training/*.mdx, training/openapi.json, /api/v3): upload with base64_crop, train for $1 from the
 * wallet, then follow the documented statuses in accelerated time. The instance_prompt word "explode" makes the
 * training fail after it started. Where the documents are silent (a failed or cancelled training) the answer is
 * the documented minimum: `status` and `messege`.
 */
export interface TrainingOptions {
  /** How long one of ModelsLab's "minutes" lasts here; default 100 ms (a training takes 2.8 s). */
  minuteMs?: number;
}

/**
 * The documented statuses, in order (lora-finetune.mdx "Training Status Values"): the emulator's own copy, apart
 * from the client's (src/providers/modelslab/training.ts), so that a misreading on one side shows in the tests.
 */
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

/** Emulated minutes each status lasts before the next. */
const STAGE_MINUTES = 4;
const TRAINING_PRICE_USD = 1;
/** The LoraTrainingRequest fields; anything else is refused. */
const FIELDS = new Set([
  'key',
  'instance_prompt',
  'class_prompt',
  'wandb_key',
  'base_model_type',
  'negative_prompt',
  'images',
  'training_type',
  'lora_type',
  'max_train_steps',
  'seed',
  'webhook',
]);
// lora-finetune.mdx says "female", its openapi.json "women": both are documented.
const TRAINING_TYPES = new Set(['men', 'women', 'female', 'couple', 'null']);
const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;

interface MlTraining {
  id: string;
  userId: number;
  baseModelType: 'normal' | 'sdxl';
  started: number;
  fails: boolean;
  cancelled: boolean;
  deleted: boolean;
}

/** What the generation routes ask about a lora_model id. */
export interface Trainings {
  /** The user's training of that id (not deleted), or undefined for any other LoRA id. */
  find(user: MlUser, id: string): MlTraining | undefined;
  status(training: MlTraining): string;
}

export function trainingState(options: TrainingOptions = {}, now: () => number = Date.now) {
  const minuteMs = options.minuteMs ?? 100;
  const all = new Map<string, MlTraining>();
  const stageOf = (t: MlTraining) =>
    Math.min(TRAINING_STATUSES.length - 1, Math.floor((now() - t.started) / (STAGE_MINUTES * minuteMs)));
  const trainings: Trainings = {
    find: (user, id) => {
      const t = all.get(id);
      return t && t.userId === user.id && !t.deleted ? t : undefined;
    },
    status: (t) => {
      if (t.cancelled) return 'training_cancelled';
      if (t.fails && stageOf(t) >= 2) return 'training_failed';
      return TRAINING_STATUSES[stageOf(t)]!;
    },
  };
  return { all, trainings, stageOf };
}

export type TrainingState = ReturnType<typeof trainingState>;

export function trainingRoutes(state: TrainingState): RouteModule {
  return ({ accounts, server, now }: ModelslabEnv): ModelslabRoute[] => {
    const uploads = new Map<string, Buffer>();
    const { all, trainings, stageOf } = state;
    const refuse = (ctx: ModelslabExchange, messege: string, status = 200) =>
      json(ctx, status, { status: 'error', messege });

    const upload = (ctx: ModelslabExchange): void => {
      const { image, crop } = ctx.body;
      if (crop !== undefined && crop !== 'true' && crop !== 'false')
        return refuse(ctx, 'The crop must be "true" or "false".', 400);
      const match =
        typeof image === 'string'
          ? /^data:image\/[a-z0-9.+-]+;base64,([A-Za-z0-9+/]+=*)$/i.exec(image)
          : null;
      if (!match) return refuse(ctx, 'The image must be a base64 data URI.', 400);
      const bytes = Buffer.from(match[1]!, 'base64');
      if (bytes.length > MAX_UPLOAD_BYTES || !isImage(sniff(bytes)))
        return refuse(ctx, 'The image is not a valid image.', 400);
      const name = `${hex(8)}.${sniff(bytes).ext}`;
      uploads.set(name, bytes);
      json(ctx, 200, {
        status: 'success',
        messege: 'image uploaded',
        link: `${server.url}/cdn/uploads/${name}`,
      });
    };

    const train = (ctx: ModelslabExchange): void => {
      const body = ctx.body;
      const unknown = Object.keys(body).filter((k) => !FIELDS.has(k));
      if (unknown.length > 0) return refuse(ctx, `Unknown field(s): ${unknown.join(', ')}.`, 400);
      for (const field of ['instance_prompt', 'class_prompt'])
        if (typeof body[field] !== 'string' || body[field] === '')
          return refuse(ctx, `The ${field.replace('_', ' ')} field is required.`, 400);
      const images = body.images;
      if (
        !Array.isArray(images) ||
        images.length === 0 ||
        !images.every((u) => typeof u === 'string' && /^https?:\/\/\S+$/i.test(u))
      )
        return refuse(ctx, 'The images must be a list of image URLs.', 400);
      if (typeof body.training_type !== 'string' || !TRAINING_TYPES.has(body.training_type))
        return refuse(ctx, 'The selected training type is invalid.', 400);
      const steps = Number(body.max_train_steps);
      if (typeof body.max_train_steps !== 'string' || !Number.isInteger(steps) || steps < 10 || steps > 50)
        return refuse(ctx, 'The max train steps must be a string between 10 and 50.', 400);
      const base = body.base_model_type ?? 'sdxl';
      if (base !== 'normal' && base !== 'sdxl')
        return refuse(ctx, 'The selected base model type is invalid.', 400);
      if (body.lora_type !== undefined && body.lora_type !== 'lora' && body.lora_type !== 'lycoris')
        return refuse(ctx, 'The selected lora type is invalid.', 400);
      const user = ctx.user as MlUser;
      // Throws the 402 when the wallet is short; nothing is taken then.
      accounts.debit(user, TRAINING_PRICE_USD, 'lora_fine_tune', 'training');
      const id = randomId();
      all.set(id, {
        id,
        userId: user.id,
        baseModelType: base,
        started: now(),
        fails: /\bexplode\b/i.test(String(body.instance_prompt)),
        cancelled: false,
        deleted: false,
      });
      json(ctx, 200, {
        status: 'success',
        messege: 'deploying_gpu',
        data: `it will take upto ${minutesLeft(0)} minutes.`,
        training_id: id,
      });
    };

    const minutesLeft = (stage: number) => (TRAINING_STATUSES.length - 1 - stage) * STAGE_MINUTES;

    const owned = (ctx: ModelslabExchange, id: string | undefined): MlTraining => {
      const t = id === undefined ? undefined : trainings.find(ctx.user as MlUser, id);
      if (!t) throw new ApiError(404, 'not_found', 'Training not found.');
      return t;
    };

    const status = (ctx: ModelslabExchange, id: string | undefined): void => {
      const t = owned(ctx, id);
      const current = trainings.status(t);
      if (current === 'training_failed')
        return json(ctx, 200, {
          status: 'failed',
          messege: current,
          data: 'Training failed on the GPU worker (sandbox).',
        });
      if (current === 'training_cancelled')
        return json(ctx, 200, { status: 'success', messege: current, data: 'Training cancelled.' });
      const stage = stageOf(t);
      // The documented log: one line per step reached, each with the steps and minutes still to go.
      const lines = Array.from({ length: stage + 1 }, (_, n) =>
        n === TRAINING_STATUSES.length - 1
          ? 'Model loaded successfully'
          : `Step:${n + 1} ${TRAINING_STATUSES[n]}, ${TRAINING_STATUSES.length - 1 - n} Steps to go : ETA : ${minutesLeft(n)} minutes`,
      );
      json(ctx, 200, { status: 'success', messege: current, data: lines.join('\n') });
    };

    const cancel = (ctx: ModelslabExchange, id: string | undefined): void => {
      const t = owned(ctx, id);
      const current = trainings.status(t);
      if (current === 'model_ready' || current === 'training_failed' || t.cancelled)
        return refuse(ctx, `Training ${t.id} cannot be cancelled: it is ${current}.`);
      t.cancelled = true;
      json(ctx, 200, { status: 'success', messege: 'training cancelled', data: '' });
    };

    const remove = (ctx: ModelslabExchange, id: string | undefined): void => {
      owned(ctx, id).deleted = true;
      json(ctx, 200, { status: 'success', messege: 'model deleted', data: '' });
    };

    return [
      route('POST', '\\/api\\/v3\\/base64_crop', 'key', undefined, upload),
      route('POST', '\\/api\\/v3\\/lora_fine_tune', 'key', undefined, train),
      route('POST', '\\/api\\/v3\\/fine_tune_status\\/([A-Za-z0-9]+)', 'key', undefined, (ctx, [id]) =>
        status(ctx, id),
      ),
      route('POST', '\\/api\\/v3\\/finetune_list', 'key', undefined, (ctx) =>
        json(ctx, 200, {
          status: 'success',
          messege: 'model list',
          data: [...all.values()]
            .filter((t) => t.userId === (ctx.user as MlUser).id && !t.deleted)
            .map((t) => t.id),
        }),
      ),
      // The page's curl spells it "cancle_training", its openapi "cancel_training": both are documented.
      route(
        'POST',
        '\\/api\\/v3\\/(?:cancel|cancle)_training\\/([A-Za-z0-9]+)',
        'key',
        undefined,
        (ctx, [id]) => cancel(ctx, id),
      ),
      route('POST', '\\/api\\/v3\\/finetune\\/delete\\/([A-Za-z0-9]+)', 'key', undefined, (ctx, [id]) =>
        remove(ctx, id),
      ),
      route('GET', '\\/cdn\\/uploads\\/([a-f0-9]+\\.[a-z]+)', 'none', undefined, (ctx, [name]) => {
        const bytes = uploads.get(name ?? '');
        if (!bytes) throw new ApiError(404, 'not_found', 'Not found.');
        write(
          ctx,
          200,
          { 'Content-Type': sniff(bytes).mimeType, 'Content-Length': String(bytes.length) },
          bytes,
        );
      }),
    ];
  };
}

/** Ten letters and digits, like the documented "F5jvdzGnYi". */
function randomId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from({ length: 10 }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('');
}
