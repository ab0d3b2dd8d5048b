import { readBoundedFile, type BoundedRead } from '../bounded-file.js';
import { PROVIDERS } from '../config.js';
import { PROVIDER_LABEL, UserInputError } from '../errors.js';
import { isImage, sniff } from '../media/sniff.js';
import type { GenerationRecord, Generations } from './store.js';

export const GENERATION_URI_TEMPLATE = 'atelier://generations/{id}';
const URI_PREFIX = 'atelier://generations/';

/** The most one file may weigh to be sent as a resource (base64 makes it a third larger on the wire). */
export const MAX_RESOURCE_FILE_BYTES = 20 * 1024 * 1024;
/** Resources per resources/list page. */
export const RESOURCE_PAGE_SIZE = 100;

export function generationUri(key: string): string {
  return `${URI_PREFIX}${encodeURIComponent(key)}`;
}

/** The key inside an atelier://generations/ URI, or undefined for another URI. */
export function generationKeyOf(uri: string): string | undefined {
  if (!uri.startsWith(URI_PREFIX)) return undefined;
  try {
    const key = decodeURIComponent(uri.slice(URI_PREFIX.length));
    return PROVIDERS.some((p) => key.startsWith(`${p}-`) && key.length > p.length + 1) ? key : undefined;
  } catch {
    return undefined;
  }
}

/** What resources/list says about one generation: enough to choose it without reading it. */
export function describeGeneration(r: GenerationRecord) {
  const prompt = r.prompt?.replace(/\s+/g, ' ').trim();
  const files = r.files.map((f) => f.path);
  const short = prompt && prompt.length > 60 ? `${prompt.slice(0, 59)}…` : prompt;
  return {
    uri: generationUri(r.key),
    name: r.key,
    title: short ? `${r.model}: ${short}` : `${PROVIDER_LABEL[r.provider]} ${r.model} job ${r.jobId}`,
    description:
      `${PROVIDER_LABEL[r.provider]} ${r.model}, job ${r.jobId}, saved ${r.savedAt}; ` +
      `${r.files.length === 1 ? '1 file' : `${r.files.length} files`}: ${files.join(', ')}` +
      (prompt ? `. Prompt: ${prompt}` : ''),
    mimeType: r.files[0]?.mimeType ?? 'image/png',
    size: r.files.reduce((sum, f) => sum + f.bytes, 0),
    annotations: { lastModified: r.savedAt },
    _meta: {
      provider: r.provider,
      model: r.model,
      jobId: r.jobId,
      ...(r.prompt !== undefined ? { prompt: r.prompt } : {}),
      savedAt: r.savedAt,
      files,
    },
  };
}

/** One page of resources/list, newest first; the cursor is the position of the next page. */
export async function listGenerationResources(generations: Generations, cursor?: string) {
  const all = await generations.list();
  const start = cursor === undefined ? 0 : Number(cursor);
  if (!Number.isInteger(start) || start < 0 || start > all.length)
    throw new UserInputError(`The cursor "${cursor}" does not come from this server's resources/list.`);
  const end = start + RESOURCE_PAGE_SIZE;
  return {
    resources: all.slice(start, end).map(describeGeneration),
    ...(end < all.length ? { nextCursor: String(end) } : {}),
  };
}

/** `{id}` of the generation template as the user types it: keys by prefix, newest first. */
export async function completeGenerationKey(
  generations: Generations,
  template: string,
  typed: string,
): Promise<string[]> {
  if (template !== GENERATION_URI_TEMPLATE) return [];
  const keys = (await generations.list()).map((r) => r.key);
  return keys.filter((k) => k.startsWith(typed)).slice(0, 100);
}

export class ResourceNotFound extends UserInputError {}

/**
 * The saved files' exact bytes, each an image/* blob. A file that vanished, grew past the cap or is no longer an
 * image is left out and said so in a text part; if nothing is left, the read fails naming each file and why.
 */
export async function readGeneration(generations: Generations, uri: string) {
  const key = generationKeyOf(uri);
  const record = key === undefined ? undefined : await generations.get(key);
  if (!record) {
    throw new ResourceNotFound(`No saved generation at ${uri}.`, {
      next: 'List them with resources/list; a job whose images were never saved can be saved with get_generation.',
    });
  }
  const contents: Array<
    | { uri: string; mimeType: string; blob: string; _meta: { path: string } }
    | { uri: string; mimeType: string; text: string }
  > = [];
  const skipped: string[] = [];
  for (const file of record.files) {
    const read = await readImageFile(file.path);
    if (typeof read === 'string') skipped.push(`${file.path}: ${read}`);
    else
      contents.push({
        uri,
        mimeType: read.mimeType,
        blob: read.bytes.toString('base64'),
        _meta: { path: file.path },
      });
  }
  if (contents.length === 0) {
    throw new ResourceNotFound(`None of the files of ${uri} can be read.`, {
      facts: skipped,
      next: `Call get_generation with provider "${record.provider}" and id "${record.jobId}" to save the images again (free).`,
    });
  }
  if (skipped.length) contents.push({ uri, mimeType: 'text/plain', text: `Left out: ${skipped.join('; ')}` });
  return { contents };
}

const WHY: Record<Exclude<BoundedRead, { bytes: Buffer }>['problem'], string> = {
  missing: 'the file is gone (moved or deleted since)',
  'not a regular file': 'no longer a regular file',
  'too large': `larger than ${MAX_RESOURCE_FILE_BYTES / 1024 / 1024} MB, the most a resource carries; open it from disk`,
  'being written': 'the file is being rewritten; read it again in a moment',
  unreadable: 'cannot be opened',
};

/** The bytes of a regular image file no larger than the cap, or why not. */
async function readImageFile(path: string): Promise<{ bytes: Buffer; mimeType: string } | string> {
  const read = await readBoundedFile(path, MAX_RESOURCE_FILE_BYTES);
  if ('problem' in read) return read.code ? `${WHY[read.problem]} (${read.code})` : WHY[read.problem];
  const type = sniff(read.bytes);
  if (!isImage(type)) return 'no longer holds an image';
  return { bytes: read.bytes, mimeType: type.mimeType };
}
