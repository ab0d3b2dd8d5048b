import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { describeTraining, trainingUri, useLine } from '../src/history/training-resources.js';
import { followTraining, recordStatus } from '../src/providers/modelslab/follow-training.js';
import { modelslabGenerationClient } from '../src/providers/modelslab/generation-client.js';
import { trainedModelsSection } from '../src/providers/modelslab/trained.js';
import { changeTraining, trainingStatus, TRAINING_ID } from '../src/providers/modelslab/training.js';
import { defineTool } from './define.js';
import { max_wait_seconds } from './params.js';

const DEFAULT_MAX_WAIT_S = 55;

export default defineTool({
  name: 'modelslab_training',
  toolset: 'train',
  providers: ['modelslab'],
  title: 'LoRA trainings',
  description:
    'status: waits with progress for a LoRA training (deploying_gpu … model_ready), then gives the model id for ' +
    'generate_image; call again while it runs. list, cancel, delete. Free.',
  input: {
    action: z.enum(['status', 'list', 'cancel', 'delete']),
    training_id: z.string().max(64).optional(),
    max_wait_seconds: max_wait_seconds(DEFAULT_MAX_WAIT_S, 0),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async run({ action, training_id: id, max_wait_seconds: wait }, ctx) {
    if (action === 'list') return trainedModelsSection(ctx);
    if (!id || !TRAINING_ID.test(id))
      throw new UserInputError(`action "${action}" needs the training_id modelslab_train_lora printed.`, {
        next: 'Call modelslab_training {action: "list"} for the ids.',
      });
    const known = await ctx.trainings.get(id);
    if (action === 'status') {
      const deadline = Date.now() + (wait ?? DEFAULT_MAX_WAIT_S) * 1000;
      const { status, changes } = await followTraining(ctx, id, known, deadline);
      const record = (await ctx.trainings.get(id))!;
      const seen = changes.map((c) => `${c.status} (+${c.afterSeconds} s)`).join(' → ');
      return [
        describeTraining(record),
        `Seen this call: ${seen}.`,
        status.state === 'ready'
          ? `READY: the model id is ${id}. Next: ${useLine(record)}.`
          : status.state === 'running'
            ? `STILL TRAINING. Next: call modelslab_training {action: "status", training_id: "${id}"} again; nothing is lost meanwhile.`
            : `Ended ${status.state}${status.log ? `: ${status.log.slice(0, 300)}` : ''}. Next: modelslab_train_lora to train again.`,
        `Resource: ${trainingUri(id)}`,
      ].join('\n');
    }
    const client = modelslabGenerationClient(ctx);
    const said = await changeTraining(client, action, id, { signal: ctx.signal });
    const after =
      action === 'delete'
        ? { status: 'deleted', state: 'deleted' as const }
        : await trainingStatus(client, id, { signal: ctx.signal }).catch(() => ({
            status: 'cancel requested',
            state: 'canceled' as const,
          }));
    await recordStatus(
      ctx.trainings,
      id,
      known,
      { status: after.status, state: after.state },
      new Date().toISOString(),
    );
    return `${action === 'cancel' ? 'Cancelled' : 'Deleted'} training ${id}: ${said}. Status now: ${after.status}.`;
  },
});
