import { ProviderError, UserInputError } from '../../errors.js';
import type { CallBounds, GenerationAdapter, Job } from '../../generation/adapter.js';
import { rawJson } from '../raw-json.js';
import type { ModelslabGenerationClient, ModelslabReply } from './generation-client.js';
import type { ModelslabModel } from './models.js';

/** The generation API families (notes/modelslab.md §2): v6 community models, v7 provider models, v8 (unconfirmed). */
export const API_VERSIONS = ['v6', 'v7', 'v8'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

interface FamilySpec {
  textToImage: string;
  imageToImage: string;
  /** POST {fetch}/{id} with {key}; v6 also documents {key, request_id} on the bare path. */
  fetch: string;
}

/**
 * Documented: v6 (community-models openapi) and v7 (docs-v2 model-selection guide, the skills). The v8 paths are
 * an UNDOCUMENTED GUESS (the Agents docs only name /api/v8; third-party code uses these): they are used only through
 * this table, and `params.api_version` or the model's own schema (GET /models/{id} `endpoint_configurations`)
 * overrides them.
 */
const FAMILIES: Record<ApiVersion, FamilySpec> = {
  v6: {
    textToImage: '/api/v6/images/text2img',
    imageToImage: '/api/v6/images/img2img',
    fetch: '/api/v6/images/fetch',
  },
  v7: {
    textToImage: '/api/v7/images/text-to-image',
    imageToImage: '/api/v7/images/image-to-image',
    fetch: '/api/v7/images/fetch',
  },
  v8: {
    textToImage: '/api/v8/images/text-to-image',
    imageToImage: '/api/v8/images/image-to-image',
    fetch: '/api/v8/images/fetch',
  },
};

/**
 * Models whose family is known; any other id is a community or trained model, which v6 serves.
 * `params.api_version` overrides the table for a model it gets wrong.
 */
export const MODEL_FAMILY: Readonly<Record<string, ApiVersion>> = {
  flux: 'v6',
  sdxl: 'v6',
  midjourney: 'v6',
  'imagen-3': 'v7',
  'imagen-4': 'v7',
  'imagen-4.0-ultra': 'v7',
  'nano-banana': 'v7',
  'nano-banana-t2i': 'v7',
  'nano-banana-pro': 'v7',
  'flux-pro-1.1': 'v7',
  'flux-kontext-pro': 'v7',
  seedream: 'v7',
  'flux-2-dev': 'v8',
};

export const DEFAULT_MODELSLAB_MODEL = 'flux';

/**
 * Models with one id per endpoint: `nano-banana` is the v7 image-to-image id, `nano-banana-t2i` its
 * text-to-image twin. Either name is sent as the id of the endpoint used.
 */
const ENDPOINT_IDS: Readonly<Record<string, { textToImage: string; imageToImage: string }>> = {
  'nano-banana': { textToImage: 'nano-banana-t2i', imageToImage: 'nano-banana' },
  'nano-banana-t2i': { textToImage: 'nano-banana-t2i', imageToImage: 'nano-banana' },
};

export interface ModelslabImageArgs {
  model: string;
  prompt: string;
  negative_prompt?: string;
  width?: number;
  height?: number;
  aspect_ratio?: string;
  /** ModelsLab makes up to 4 images in one job (`samples`). */
  count?: number;
  seed?: number;
  /** A URL or a data: URL (a local file read and checked by media.readInput). */
  inputImage?: string;
  params?: Record<string, unknown>;
  /** The model as GET /models/{id} describes it, when known: its endpoints and parameter schema win. */
  schema?: ModelslabModel;
}

export interface ModelslabRequest {
  family: ApiVersion;
  path: string;
  /** Everything but the key, which the client adds. */
  body: Record<string, unknown>;
}

const RESERVED = ['key', 'model_id', 'prompt'];

/** The family a request goes to: params.api_version, else the table, else v6. */
export function modelslabFamily(args: Pick<ModelslabImageArgs, 'model' | 'params'>): ApiVersion {
  const override = args.params?.api_version;
  if (typeof override === 'string' && API_VERSIONS.includes(override as ApiVersion))
    return override as ApiVersion;
  return MODEL_FAMILY[args.model] ?? 'v6';
}

/** Map our arguments onto the family's fields; params pass through (scheduler, steps, guidance, lora…). */
export function buildModelslabRequest(args: ModelslabImageArgs): ModelslabRequest {
  const { api_version: override, ...params } = args.params ?? {};
  const reserved = Object.keys(params).filter((k) => RESERVED.includes(k));
  if (reserved.length > 0) {
    throw new UserInputError(`params may not set ${reserved.join(', ')}.`, {
      next: 'Pass the model and prompt as their own arguments; the key comes from the configured credential.',
    });
  }
  if (override !== undefined && !API_VERSIONS.includes(override as ApiVersion)) {
    throw new UserInputError(`params.api_version must be one of ${API_VERSIONS.join(', ')}.`);
  }
  const family = (override as ApiVersion | undefined) ?? MODEL_FAMILY[args.model] ?? 'v6';
  const size = sizeFor(args);
  const ids = ENDPOINT_IDS[args.model];
  const modelId = ids ? (args.inputImage ? ids.imageToImage : ids.textToImage) : args.model;
  const body: Record<string, unknown> = { model_id: modelId, prompt: args.prompt };
  if (args.negative_prompt) body.negative_prompt = args.negative_prompt;
  if (args.seed !== undefined) body.seed = args.seed;
  if (family === 'v6') {
    // The v6 reference examples send sizes and counts as strings.
    if (size) Object.assign(body, { width: String(size.width), height: String(size.height) });
    body.samples = String(args.count ?? 1);
    if (args.inputImage) body.init_image = args.inputImage;
  } else {
    // v7 models size by aspect_ratio (Imagen-4 requires it); explicit width/height go along when given.
    if (args.width && args.height) Object.assign(body, { width: args.width, height: args.height });
    body.aspect_ratio = args.aspect_ratio ?? (args.width && args.height ? undefined : '1:1');
    if (body.aspect_ratio === undefined) delete body.aspect_ratio;
    body.samples = args.count ?? 1;
    // The documents disagree (a URL string in the references, a list in the skills): the model's own schema says
    // which when it is known, else the documented string.
    if (args.inputImage)
      body.init_image =
        schemaOf(args.schema, 'image-to-image')?.properties?.init_image?.type === 'array'
          ? [args.inputImage]
          : args.inputImage;
  }
  // The documents type init_image as a URL and say base64 input goes with `base64: true` (v6 img2img); v7 and v8
  // document nothing else, so they get the same (a documented guess). With it the outputs come back as base64,
  // which asReference reads.
  if (args.inputImage && /^data:/i.test(args.inputImage)) body.base64 = true;
  const spec = FAMILIES[family];
  const merged = { ...body, ...params };
  if (family === 'v6') checkV6Size(merged);
  const kind = args.inputImage ? 'image-to-image' : 'text-to-image';
  // The model's schema names its endpoint; params.api_version, when given, wins over it.
  const listed = override === undefined ? endpointOf(args.schema, kind, family) : undefined;
  return {
    family,
    path: listed ?? (args.inputImage ? spec.imageToImage : spec.textToImage),
    body: merged,
  };
}

type EndpointConfiguration = NonNullable<ModelslabModel['endpoint_configurations']>[number];

function configurationOf(
  schema: ModelslabModel | undefined,
  kind: 'text-to-image' | 'image-to-image',
): EndpointConfiguration | undefined {
  return schema?.endpoint_configurations?.find((c) => c.name === kind);
}

function schemaOf(
  schema: ModelslabModel | undefined,
  kind: 'text-to-image' | 'image-to-image',
): { properties?: Record<string, Record<string, unknown>> } | undefined {
  return configurationOf(schema, kind)?.parameters;
}

/** The schema's endpoint for this kind, when it is a path of the family chosen (never another host). */
function endpointOf(
  schema: ModelslabModel | undefined,
  kind: 'text-to-image' | 'image-to-image',
  family: ApiVersion,
): string | undefined {
  const endpoint = configurationOf(schema, kind)?.endpoint;
  if (typeof endpoint !== 'string') return undefined;
  return new RegExp(`^/api/${family}/[A-Za-z0-9/_-]+$`).test(endpoint) ? endpoint : undefined;
}

/** v6 documents width and height as at most 1024 (flux openapi `maximum: 1024`); refuse before anything is sent. */
function checkV6Size(body: Record<string, unknown>): void {
  const over = (['width', 'height'] as const).filter((k) => Number(body[k]) > V6_MAX_EDGE);
  if (over.length === 0) return;
  throw new UserInputError(
    `ModelsLab v6 models take width and height up to ${V6_MAX_EDGE} px; ${over
      .map((k) => `${k} ${String(body[k])}`)
      .join(' and ')} is over the limit.`,
    {
      next: `Pass sizes of at most ${V6_MAX_EDGE} (or aspect_ratio), or a v7 model (list_models) for larger images.`,
    },
  );
}

/** The longest edge v6 accepts, and its grid. */
const V6_MAX_EDGE = 1024;

function sizeFor(args: ModelslabImageArgs): { width: number; height: number } | undefined {
  if (args.width && args.height) return { width: args.width, height: args.height };
  if (!args.aspect_ratio) return undefined;
  const [w, h] = args.aspect_ratio.split(':').map(Number);
  if (!w || !h) return undefined;
  const scale = V6_MAX_EDGE / Math.max(w, h);
  const grid = (n: number) => Math.max(256, Math.round((n * scale) / 8) * 8);
  return { width: grid(w), height: grid(h) };
}

/** What we know of a job beyond its id: where to fetch it. Kept for resumes in this session. */
interface JobRef {
  family: ApiVersion;
  fetchResult?: string;
  model: string;
  prompt?: string;
}

const FETCH = { retryable: true };
const MAX_KNOWN_JOBS = 500;
const knownJobs = new Map<string, JobRef>();

function remember(id: string, ref: JobRef): void {
  knownJobs.delete(id);
  knownJobs.set(id, ref);
  if (knownJobs.size > MAX_KNOWN_JOBS) knownJobs.delete(knownJobs.keys().next().value!);
}

/** Ids go into URL paths: digits as ModelsLab issues them, or a short token, never a path segment. */
const ID_SHAPE = /^[A-Za-z0-9_-]{1,64}$/;

export function modelslabAdapter(client: ModelslabGenerationClient): GenerationAdapter<ModelslabRequest> {
  const fetchJob = async (id: string, ref: JobRef, bounds: CallBounds): Promise<Job> => {
    // The key goes only to our configured origin: a fetch_result elsewhere is replaced by the family's path.
    const reply =
      ref.fetchResult && client.isOwnOrigin(ref.fetchResult)
        ? await client.send(ref.fetchResult, {}, bounds, FETCH)
        : ref.family === 'v6'
          ? await client.send(FAMILIES.v6.fetch, { request_id: id }, bounds, FETCH)
          : await client.send(`${FAMILIES[ref.family].fetch}/${id}`, {}, bounds, FETCH);
    return toJob(reply, ref, id);
  };

  return {
    provider: 'modelslab',
    // ModelsLab documents Idempotency-Key for billing mutations only, not for generation.
    replaysIdempotencyKey: false,
    holdsCreate: false,
    async submit(request, { idempotencyKey, deadline, signal }) {
      // track_id comes back in webhooks and the job's meta: the durable key ties a lost answer to its job. It is
      // documented for v6 (community and flux OpenAPI); on v7 and v8 it is a guess.
      const reply = await client.send(
        request.path,
        { ...request.body, track_id: idempotencyKey },
        { deadline, signal },
        { retryable: false },
      );
      if (reply.answer.status === 'error' || reply.answer.status === 'failed')
        throw client.refusal(reply.answer);
      const ref: JobRef = {
        family: request.family,
        model: String(request.body.model_id),
        prompt: typeof request.body.prompt === 'string' ? request.body.prompt : undefined,
      };
      return { job: toJob(reply, ref), replayed: false };
    },
    async check(job, bounds) {
      const next = await fetchJob(
        job.id,
        knownJobs.get(job.id) ?? { family: 'v6', model: job.model },
        bounds,
      );
      return { ...next, createdAt: job.createdAt };
    },
    async lookup(id, bounds) {
      if (!ID_SHAPE.test(id))
        throw new UserInputError(
          `"${id.slice(0, 80)}" is not a ModelsLab job id (digits, as generate_image printed it).`,
        );
      const known = knownJobs.get(id);
      if (known) return fetchJob(id, known, bounds);
      // A job from an earlier session: its family is unknown, so ask each fetch path until one knows it.
      let last: unknown;
      for (const family of API_VERSIONS) {
        try {
          const job = await fetchJob(id, { family, model: 'unknown' }, bounds);
          if (job.state !== 'failed' || !/not\s*found|invalid|no\s+such/i.test(job.error ?? '')) return job;
          last = new ProviderError({
            provider: 'modelslab',
            code: 'not_found',
            message: job.error ?? 'Not found.',
          });
        } catch (error) {
          if (!(error instanceof ProviderError) || error.status !== 404) throw error;
          last = error;
        }
      }
      throw last;
    },
    nextCheckMs(job, ageMs) {
      // ModelsLab says how long it expects: follow the eta, within bounds so that a wrong one costs little.
      if (job.etaSeconds !== undefined) return Math.min(10_000, Math.max(1_000, job.etaSeconds * 1000));
      if (ageMs < 5_000) return 1_000;
      if (ageMs < 20_000) return 2_000;
      if (ageMs < 60_000) return 5_000;
      return 10_000;
    },
    rateLimit: () => client.rateLimit,
  };
}

/** One answer (create or fetch; they share their shapes) as a Job; `knownId` when it answers a status request. */
export function toJob(reply: ModelslabReply, ref: JobRef, knownId?: string): Job {
  const { answer } = reply;
  const status =
    answer.status === undefined || answer.status === null
      ? 'unknown'
      : typeof answer.status === 'string'
        ? answer.status
        : rawJson(answer.status, 40);
  const state: Job['state'] =
    status === 'success'
      ? 'succeeded'
      : status === 'error' || status === 'failed'
        ? 'failed'
        : status === 'canceled' || status === 'cancelled'
          ? 'canceled'
          : 'running';
  const sent: unknown = answer.id ?? answer.meta?.id;
  // Digits as ModelsLab issues them (a number, or a string on some endpoints); never String() of an object.
  const id =
    sent === undefined || sent === null
      ? knownId
      : typeof sent === 'string' || (typeof sent === 'number' && Number.isFinite(sent))
        ? String(sent)
        : undefined;
  if (id === undefined || !ID_SHAPE.test(id)) {
    throw new ProviderError({
      provider: 'modelslab',
      status: reply.status,
      code: 'unexpected_response',
      requestId: reply.requestId,
      // The id is quoted as sent: it may be the only trace of a job that was created and paid for.
      message:
        sent === undefined || sent === null
          ? `ModelsLab answered "${status.slice(0, 40)}" without a job id.`
          : `ModelsLab answered "${status.slice(0, 40)}" with a job id that cannot be used: ${rawJson(sent)}.`,
      next:
        knownId === undefined
          ? 'Do not generate again yet: the job may exist and be charged; look for it with modelslab_usage (view "history").'
          : `Job ${knownId} is not lost: modelslab_usage (view "history") shows it, and get_generation with its id may work once ModelsLab answers normally.`,
      body: answer,
    });
  }
  const fetchResult = typeof answer.fetch_result === 'string' ? answer.fetch_result : ref.fetchResult;
  const futureLinks = strings(answer.future_links);
  remember(id, { ...ref, fetchResult });
  const outputs = strings(answer.output).map(asReference);
  const notes: string[] = [];
  if (answer.nsfw_content_detected === true || answer.nsfw_content_detected === 'true')
    notes.push('ModelsLab flagged the output as NSFW (nsfw_content_detected).');
  const seconds = Number(answer.generationTime);
  if (answer.generationTime !== undefined && Number.isFinite(seconds))
    notes.push(`ModelsLab generation time: ${seconds.toFixed(1)} s.`);
  const eta = Number(answer.eta);
  const message = answer.message ?? answer.messege;
  return {
    id,
    model: typeof answer.meta?.model_id === 'string' ? answer.meta.model_id : ref.model,
    prompt: ref.prompt,
    state,
    status,
    createdAt: Date.now(),
    ...(state === 'running' && answer.eta !== undefined && Number.isFinite(eta) ? { etaSeconds: eta } : {}),
    // Before success the outputs are the future links, which are not live yet: they are reported, not fetched.
    outputs: state === 'succeeded' ? (outputs.length > 0 ? outputs : futureLinks) : [],
    ...(futureLinks.length > 0 ? { futureLinks } : {}),
    ...(state === 'failed' || state === 'canceled'
      ? { error: typeof message === 'string' ? message : undefined }
      : {}),
    notes,
  };
}

function strings(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string' && v !== '');
  // proxy_links has been seen as {"0": url}.
  if (value && typeof value === 'object') return strings(Object.values(value));
  return [];
}

/** With `base64: true` ModelsLab returns bare base64; the saver takes a data: URL and sniffs the real type. */
function asReference(output: string): string {
  return /^(https?:|data:)/i.test(output) ? output : `data:application/octet-stream;base64,${output}`;
}
