import type { ToolContext } from '../../context.js';
import { DeadlineError } from '../../errors.js';
import { sleep } from '../../http/retry.js';
import type { TrainingRecord, Trainings } from '../../history/trainings.js';
import { modelslabGenerationClient } from './generation-client.js';
import { stepOf, trainingStatus, TRAINING_STATUSES, type TrainingStatus } from './training.js';

/** The statuses a wait went through, with the seconds since the wait began. */
interface Followed {
  status: TrainingStatus;
  changes: Array<{ status: string; afterSeconds: number }>;
}

/** How long to wait between checks, by the training's age: quick at first, then at most every 15 s. */
export function nextCheckMs(ageMs: number): number {
  if (ageMs < 30_000) return 1_000;
  if (ageMs < 120_000) return 3_000;
  return 15_000;
}

function line(id: string, s: TrainingStatus): string {
  const step = stepOf(s.status);
  const where = step ? ` (step ${step} of ${TRAINING_STATUSES.length})` : '';
  const eta = s.etaMinutes !== undefined ? `, ModelsLab expects about ${s.etaMinutes} min more` : '';
  return `ModelsLab training ${id}: ${s.status}${where}${eta}`;
}

/**
 * Records a training's new status, keeping what was known of it; a training this server did not start is taken
 * as sdxl until known otherwise.
 */
export function recordStatus(
  trainings: Trainings,
  id: string,
  known: TrainingRecord | undefined,
  status: Pick<TrainingStatus, 'status' | 'etaMinutes'> & { state: TrainingRecord['state'] },
  startedAt: string,
): Promise<TrainingRecord> {
  return trainings.save({
    id,
    status: status.status,
    state: status.state,
    baseModelType: known?.baseModelType ?? 'sdxl',
    instancePrompt: known?.instancePrompt ?? '',
    images: known?.images ?? 0,
    startedAt: known?.startedAt ?? startedAt,
    ...(status.etaMinutes !== undefined ? { etaMinutes: status.etaMinutes } : {}),
  });
}

/**
 * Check a training until it ends or the deadline, telling the client each status it reaches at once (a
 * milestone) and keeping the record current, so that a new session resumes from the last known state.
 */
export async function followTraining(
  ctx: ToolContext,
  id: string,
  known: TrainingRecord | undefined,
  deadline: number,
): Promise<Followed> {
  const client = modelslabGenerationClient(ctx);
  const began = Date.now();
  const startedAt = known ? Date.parse(known.startedAt) : began;
  const changes: Followed['changes'] = [];
  let last: string | undefined = known?.status;
  let status: TrainingStatus | undefined;
  for (;;) {
    try {
      status = await trainingStatus(client, id, {
        signal: ctx.signal,
        deadline: Math.max(deadline, Date.now() + 10_000),
      });
    } catch (error) {
      if (error instanceof DeadlineError && status) break;
      throw error;
    }
    if (status.status !== last || changes.length === 0) {
      changes.push({ status: status.status, afterSeconds: Math.round((Date.now() - began) / 100) / 10 });
      ctx.progress(line(id, status), {
        ...(status.etaMinutes !== undefined ? { etaSeconds: status.etaMinutes * 60 } : {}),
        milestone: true,
      });
      last = status.status;
      await recordStatus(ctx.trainings, id, known, status, new Date(startedAt).toISOString());
    }
    const left = deadline - Date.now();
    if (status.state !== 'running' || left <= 0) break;
    await sleep(Math.min(nextCheckMs(Date.now() - startedAt), left), ctx.signal);
  }
  return { status, changes };
}
