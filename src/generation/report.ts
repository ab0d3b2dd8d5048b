import { basename } from 'node:path';
import type { ContentBlock } from '../context.js';
import { formatError } from '../error-format.js';
import { annotate, PROVIDER_LABEL, ProviderError } from '../errors.js';
import { describeGeneration } from '../history/resources.js';
import type { Generations } from '../history/store.js';
import type { Media, SavedImage } from '../media/index.js';
import { describeCost, jobLabel, plural, quoteProvider, resumeNext, type JobOutcome } from './outcome.js';

export interface ReportOptions {
  media: Pick<Media, 'preview'>;
  /** Every job whose outputs were saved is recorded here and becomes a resource. */
  generations: Pick<Generations, 'record'>;
  preview: boolean;
}

/**
 * Paths, ids, cost, time and each saved job's resource URI go in text (Claude Code drops content blocks when
 * structuredContent is present, and ignores resource_link), plus one small inline preview and a resource_link
 * per saved job for the clients that do follow them.
 */
export async function reportOutcomes(
  settled: PromiseSettledResult<JobOutcome>[],
  options: ReportOptions,
): Promise<ContentBlock[]> {
  const outcomes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const rejected = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (!outcomes.some((o) => o.state === 'succeeded' || o.state === 'running'))
    throw batchFailure(outcomes, rejected);

  // The preview (CPU) is made while the records are written (disk); the engine may have started it already.
  const shown = outcomes.find((o) => o.saved.length > 0);
  const first = shown?.saved[0];
  const previewing =
    first && options.preview
      ? (shown.preview ?? (shown.firstBytes ? options.media.preview(shown.firstBytes) : undefined))
      : undefined;

  const lines: string[] = [];
  const links: ContentBlock[] = [];
  for (const outcome of outcomes) {
    lines.push(...describe(outcome));
    if (outcome.state === 'succeeded' && outcome.saved.length > 0) {
      const resource = describeGeneration(await options.generations.record(outcome));
      lines.push(`  resource: ${resource.uri}`);
      links.push({
        type: 'resource_link',
        uri: resource.uri,
        name: resource.name,
        title: resource.title,
        description: resource.description,
        mimeType: resource.mimeType,
      });
    }
    lines.push('');
  }
  // Partial success is still success: the saved files matter, and each failure keeps its full explanation.
  for (const error of rejected) lines.push(`FAILED: ${formatError(error)}`, '');

  const blocks: ContentBlock[] = [];
  if (first && previewing) {
    const preview = await previewing;
    if (preview) {
      lines.push(
        `Preview of ${basename(first.path)} below (${preview.width}×${preview.height} JPEG; the file is full size).`,
      );
      blocks.push({ type: 'image', data: preview.data, mimeType: preview.mimeType });
    } else lines.push(`No preview: ${basename(first.path)} could not be decoded for one; the file is saved.`);
  }
  return [{ type: 'text', text: lines.join('\n').trim() }, ...blocks, ...links];
}

function describe(o: JobOutcome): string[] {
  const who = `${PROVIDER_LABEL[o.provider]} ${o.model}`;
  const seconds = `${(o.elapsedMs / 1000).toFixed(1)} s`;
  const charged = describeCost(o);
  const notes = o.notes.map((n) => `  ${n}`);
  switch (o.state) {
    case 'succeeded':
      return [
        `Saved ${plural(o.saved.length, 'image')} from ${who} in ${seconds} (${charged}). Job id: ${o.id}.`,
        ...o.saved.map(fileLine),
        ...o.urls.map((u) => `  url: ${u}`),
        ...notes,
      ];
    case 'running':
      return [
        `STILL RUNNING (not finished, not failed): ${jobLabel(o)} (${o.model}) was still processing after ${seconds}.`,
        `Nothing is lost: it keeps running on ${PROVIDER_LABEL[o.provider]}. Next: ${resumeNext(o.provider, o.id)}.`,
        ...o.urls.map((u) => `  will appear at: ${u}`),
      ];
    case 'failed':
      return [`FAILED: ${jobLabel(o)} (${o.model}): ${failureText(o)} (${charged}).`, ...notes];
    case 'canceled':
      return [
        `CANCELED: ${jobLabel(o)} (${o.model}) was canceled and will not finish (${charged}).`,
        ...notes,
      ];
  }
}

function failureText(o: JobOutcome): string {
  if (o.error) return quoteProvider(o.provider, o.error);
  return o.state === 'canceled'
    ? `${PROVIDER_LABEL[o.provider]} canceled the job.`
    : `${PROVIDER_LABEL[o.provider]} reported the job as failed without a reason.`;
}

function fileLine(s: SavedImage): string {
  const size = s.width && s.height ? `${s.width}×${s.height} ` : '';
  const type = s.mimeType.replace('image/', '').toUpperCase();
  return `- ${s.path} (${size}${type}, ${formatBytes(s.bytes)})`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Nothing succeeded: one error, which still names every job of the batch (each may have been charged). */
function batchFailure(outcomes: JobOutcome[], rejected: unknown[]): unknown {
  const failedFacts = outcomes.map(
    (x) =>
      `Job ${x.id} (${x.model}) ${x.state === 'canceled' ? 'was canceled' : 'failed'}; ${charged(x) ? describeCost(x) : 'nothing charged'}.`,
  );
  if (rejected.length === 0) {
    const o = outcomes[0]!;
    return new ProviderError({
      provider: o.provider,
      code: o.state === 'canceled' ? 'generation_canceled' : 'generation_failed',
      message: failureText(o),
      facts: failedFacts,
      next: 'Try again, perhaps with another prompt or model (list_models); a failed job is not charged again.',
    });
  }
  const [first, ...others] = rejected;
  if (others.length === 0 && outcomes.length === 0) return first;
  return annotate(first, {
    facts: [
      ...others.map((e) => `Another job of this batch: ${formatError(e).split('\n').join(' ')}`),
      ...failedFacts,
    ],
  });
}

function charged(o: JobOutcome): boolean {
  return o.cost !== undefined && ('credits' in o.cost ? o.cost.credits : o.cost.usd) > 0;
}
