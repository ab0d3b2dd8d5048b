import { ApiError, json, write } from '../core/exchange.js';
import { renderImage } from '../render.js';
import type { MlUser } from './accounts.js';
import { CATALOG, modelView } from './catalog.js';
import type { Trainings } from './training.js';
import type { ModelslabEnv, ModelslabExchange, ModelslabRoute, RouteModule } from './server.js';

/**
 * The generation APIs (notes/modelslab.md §2): v6 community models and v7/v8 provider models, the API key in
 * the body, flat `{status, …}` answers. An async job answers `processing` with an eta, a fetch_result URL and
 * future_links, and turns into `success` after a few fetches; the wallet is debited per image at creation.
 * Prompt words drive the unhappy paths: "forbidden" is refused (with the legacy `messege` spelling),
 * "explode" fails at the end, "nsfw" succeeds with nsfw_content_detected.
 */
export interface GenerationOptions {
  /** Fetches an async job needs before it succeeds; default 3. */
  fetchesToFinish?: number;
  /** The eta (seconds) a new async job announces; default 2. */
  etaSeconds?: number;
  /** When set, an async job finishes this long after its creation instead of after a number of fetches. */
  jobDelayMs?: number;
}

type Family = 'v6' | 'v7' | 'v8';

const BY_ID = new Map(CATALOG.map((m) => [m.model_id, m]));
/** Models outside the catalog are community or trained models, which v6 serves at the default price. */
const DEFAULT_PRICE_USD = 0.01;

interface MlJob {
  id: number;
  userId: number;
  family: Family;
  model: string;
  prompt: string;
  aspectRatio: string;
  samples: number;
  seed: number;
  base64: boolean;
  status: 'processing' | 'success' | 'failed';
  fetches: number;
  started: number;
  /** Drawn from creation on, so that the images exist when the job completes, as on a real provider. */
  drawing?: Promise<Buffer[]>;
  outputs?: Buffer[];
}

export function generationRoutes(options: GenerationOptions = {}, loras?: Trainings): RouteModule {
  const fetchesToFinish = options.fetchesToFinish ?? 3;
  const etaSeconds = options.etaSeconds ?? (options.jobDelayMs ?? 2_000) / 1000;
  const { jobDelayMs } = options;

  return ({ accounts, server, now }: ModelslabEnv): ModelslabRoute[] => {
    const jobs = new Map<number, MlJob>();
    let nextId = 90_000_000 + Math.floor(Math.random() * 1_000_000);

    const familyOf = (model: string): Family => BY_ID.get(model)?.api_version ?? 'v6';
    const fetchPath = (job: MlJob) => `/api/${job.family}/images/fetch/${job.id}`;
    const links = (job: MlJob) =>
      Array.from({ length: job.samples }, (_, n) => `${server.url}/cdn/modelslab/${job.id}/${n}.png`);

    const refuse = (ctx: ModelslabExchange, message: string, legacy = false) =>
      json(ctx, 200, { status: 'error', ...(legacy ? { messege: message } : { message }) });

    const finishIfDue = async (job: MlJob): Promise<void> => {
      if (job.status !== 'processing') return;
      if (jobDelayMs === undefined ? job.fetches < fetchesToFinish : now() - job.started < jobDelayMs) return;
      if (/\bexplode\b/i.test(job.prompt)) {
        job.status = 'failed';
        return;
      }
      job.outputs = await (job.drawing ?? draw(job));
      job.status = 'success';
    };

    const draw = (job: MlJob): Promise<Buffer[]> =>
      Promise.all(
        Array.from({ length: job.samples }, (_, n) =>
          renderImage({
            prompt: job.prompt,
            model: job.model,
            aspectRatio: job.aspectRatio,
            seed: job.seed + n,
          }),
        ),
      );

    const answer = (ctx: ModelslabExchange, job: MlJob): void => {
      const meta = {
        id: job.id,
        model_id: job.model,
        prompt: job.prompt,
        seed: job.seed,
        n_samples: job.samples,
      };
      if (job.status === 'failed') {
        json(ctx, 200, {
          status: 'failed',
          id: job.id,
          message: 'Image generation failed on the GPU worker (sandbox).',
        });
      } else if (job.status === 'processing') {
        const left =
          jobDelayMs === undefined
            ? Math.max(1, etaSeconds * (1 - job.fetches / fetchesToFinish))
            : Math.max(0.1, (job.started + jobDelayMs - now()) / 1000);
        json(ctx, 200, {
          status: 'processing',
          id: job.id,
          eta: Math.round(left * 100) / 100,
          message: 'Try to fetch request after seconds estimated',
          tip: 'Your image is processing in background, you can get this image using fetch API',
          fetch_result: `${server.url}${fetchPath(job)}`,
          future_links: links(job),
          output: [],
          meta,
        });
      } else {
        json(ctx, 200, {
          status: 'success',
          id: job.id,
          generationTime: Math.round((now() - job.started) / 10) / 100,
          output: job.base64 ? job.outputs!.map((b) => b.toString('base64')) : links(job),
          proxy_links: links(job),
          nsfw_content_detected: /\bnsfw\b/i.test(job.prompt),
          meta,
        });
      }
    };

    const create =
      (family: Family, imageToImage: boolean) =>
      async (ctx: ModelslabExchange): Promise<void> => {
        const body = ctx.body;
        const model = typeof body.model_id === 'string' ? body.model_id : '';
        const prompt = typeof body.prompt === 'string' ? body.prompt : '';
        if (!model) return refuse(ctx, 'The model id field is required.');
        if (!prompt) return refuse(ctx, 'The prompt field is required.', true);
        if (familyOf(model) !== family)
          return refuse(ctx, `Model ${model} is not available on the ${family} endpoint.`, true);
        const only = BY_ID.get(model)?.only;
        if (only && only !== (imageToImage ? 'image-to-image' : 'text-to-image'))
          return refuse(ctx, `Model ${model} is not available on the ${family} endpoint.`, true);
        if (/\bforbidden\b/i.test(prompt))
          return refuse(
            ctx,
            'Your prompt contains words that are not allowed. Please try another prompt.',
            true,
          );
        const aspect = typeof body.aspect_ratio === 'string' ? body.aspect_ratio : undefined;
        if (BY_ID.get(model)?.requires?.includes('aspect_ratio') && !aspect)
          return refuse(ctx, 'The aspect ratio field is required.');
        const init = Array.isArray(body.init_image) ? body.init_image[0] : body.init_image;
        if (imageToImage && (typeof init !== 'string' || init === ''))
          return refuse(ctx, 'The init image field is required.');
        // init_image as the model's schema types it: a URL string unless the schema says a list.
        if (imageToImage && Array.isArray(body.init_image) !== (BY_ID.get(model)?.initImage === 'array'))
          return refuse(
            ctx,
            Array.isArray(body.init_image)
              ? 'The init image must be a string.'
              : 'The init image must be an array.',
          );
        // init_image is documented as a URL; base64 input is accepted only with `base64`.
        if (imageToImage && /^data:/i.test(init as string) && !isYes(body.base64))
          return refuse(ctx, 'The init image must be a valid URL.');
        const samples = Number(body.samples ?? 1);
        if (!Number.isInteger(samples) || samples < 1 || samples > 4)
          return refuse(ctx, 'The samples must be between 1 and 4.');
        const width = Number(body.width);
        const height = Number(body.height);
        // v6 documents width and height as at most 1024.
        if (family === 'v6' && (width > 1024 || height > 1024))
          return refuse(ctx, `The ${width > 1024 ? 'width' : 'height'} must not be greater than 1024.`);
        const user = ctx.user as MlUser;
        const lora = loraProblem(model, body.lora_model, (id) => loras?.find(user, id), loras);
        if (lora) return refuse(ctx, lora);
        // Throws the 402 when the wallet is short; nothing is taken then.
        accounts.debit(
          user,
          (BY_ID.get(model)?.price_usd ?? DEFAULT_PRICE_USD) * samples,
          'generation',
          'imagen',
        );
        const job: MlJob = {
          id: nextId++,
          userId: user.id,
          family,
          model,
          prompt,
          aspectRatio: aspect ?? (width > 0 && height > 0 ? `${width}:${height}` : '1:1'),
          samples,
          seed:
            Number.isFinite(Number(body.seed)) && body.seed !== null
              ? Number(body.seed)
              : Math.floor(Math.random() * 1e9),
          base64: isYes(body.base64),
          status: 'processing',
          fetches: 0,
          started: now(),
        };
        jobs.set(job.id, job);
        if (!/\bexplode\b/i.test(prompt)) {
          job.drawing = draw(job);
          // A failed drawing is drawn again when the job finishes (and fails the fetch then, not here).
          job.drawing.catch(() => (job.drawing = undefined));
        }
        if (BY_ID.get(model)?.sync) {
          job.fetches = fetchesToFinish;
          job.started -= jobDelayMs ?? 0;
          await finishIfDue(job);
        }
        answer(ctx, job);
      };

    const fetch = async (ctx: ModelslabExchange, rawId: unknown): Promise<void> => {
      const job = jobs.get(Number(rawId));
      if (!job || job.userId !== (ctx.user as MlUser).id) return refuse(ctx, 'Request not found.');
      job.fetches += 1;
      await finishIfDue(job);
      answer(ctx, job);
    };

    const route = (
      method: string,
      pattern: RegExp,
      auth: ModelslabRoute['auth'],
      run: ModelslabRoute['run'],
    ) => ({
      method,
      pattern,
      auth,
      run,
    });

    const search = (ctx: ModelslabExchange) => {
      const q = (name: string) => ctx.query.get(name)?.toLowerCase() || undefined;
      const needle = q('search');
      return CATALOG.filter(
        (m) =>
          (!needle || `${m.model_id} ${m.model_name} ${m.description}`.toLowerCase().includes(needle)) &&
          (!q('feature') || m.feature === q('feature')) &&
          (!q('model_type') || m.model_type === q('model_type')) &&
          (!q('provider') || m.provider === q('provider')),
      ).map((m) => modelView(m));
    };
    const details = (id: string | undefined) => {
      const found = id === undefined ? undefined : BY_ID.get(id);
      if (!found) throw new ApiError(404, 'not_found', `Model ${id} not found.`);
      return modelView(found, true);
    };

    return [
      // Model discovery: the Agents API (token, enveloped) and its API-key twin under /api/v6/model-search.
      {
        ...route('GET', /^\/api\/agents\/v1\/models$/, 'token', (ctx) => {
          const items = search(ctx);
          json(ctx, 200, {
            data: items,
            error: null,
            meta: { request_id: ctx.requestId, total: items.length },
          });
        }),
        limiter: 'agent-general',
      },
      {
        ...route('GET', /^\/api\/agents\/v1\/models\/([^/]+)$/, 'token', (ctx, [id]) =>
          json(ctx, 200, { data: details(id), error: null, meta: { request_id: ctx.requestId } }),
        ),
        limiter: 'agent-general',
      },
      route('GET', /^\/api\/v6\/model-search$/, 'key', (ctx) =>
        json(ctx, 200, { status: 'success', data: search(ctx) }),
      ),
      route('GET', /^\/api\/v6\/model-search\/([^/]+)$/, 'key', (ctx, [id]) =>
        json(ctx, 200, { status: 'success', data: details(id) }),
      ),
      // The legacy wallet endpoint a bare API key can read.
      route('POST', /^\/api\/wallet_balance$/, 'key', (ctx) =>
        json(ctx, 200, {
          status: 'success',
          data: { balance: (ctx.user as MlUser).walletUsd, currency: 'USD' },
        }),
      ),
      route('POST', /^\/api\/v6\/images\/text2img$/, 'key', create('v6', false)),
      route('POST', /^\/api\/v6\/images\/img2img$/, 'key', create('v6', true)),
      route('POST', /^\/api\/v7\/images\/text-to-image$/, 'key', create('v7', false)),
      route('POST', /^\/api\/v7\/images\/image-to-image$/, 'key', create('v7', true)),
      route('POST', /^\/api\/v8\/images\/text-to-image$/, 'key', create('v8', false)),
      // v6 documents the id in the body; clients also use the path form, as v7 and v8 do.
      route('POST', /^\/api\/v6\/images\/fetch$/, 'key', (ctx) => fetch(ctx, ctx.body.request_id)),
      route('POST', /^\/api\/v[678]\/images\/fetch\/([^/]+)$/, 'key', (ctx, [id]) => fetch(ctx, id)),
      route('GET', /^\/cdn\/modelslab\/(\d+)\/(\d+)\.png$/, 'none', (ctx, [id, n]) => {
        const bytes = jobs.get(Number(id))?.outputs?.[Number(n)];
        // Future links exist before the image does: until then they are 404s.
        if (!bytes) throw new ApiError(404, 'not_found', 'Not found.');
        write(ctx, 200, { 'Content-Type': 'image/png', 'Content-Length': String(bytes.length) }, bytes);
      }),
    ];
  };
}

/**
 * Why a lora_model cannot go with this model: flux takes no LoRA trained on SD models (text2img page), and the
 * user's own trainings must be model_ready and trained on the model's base (sdxl or not). Other ids are public LoRAs.
 */
function loraProblem(
  model: string,
  value: unknown,
  find: (id: string) => ReturnType<Trainings['find']>,
  loras: Trainings | undefined,
): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return 'The lora model must be a string.';
  if (model === 'flux') return 'The model flux does not support lora trained on SD models.';
  for (const id of value.split(',').map((s) => s.trim())) {
    const trained = find(id);
    if (!trained || !loras) continue;
    const status = loras.status(trained);
    if (status !== 'model_ready') return `The lora model ${id} is not ready (${status}).`;
    if ((trained.baseModelType === 'sdxl') !== (model === 'sdxl'))
      return `The lora model ${id} was trained on ${trained.baseModelType} and does not fit ${model}.`;
  }
  return undefined;
}

/** ModelsLab flags come as booleans or as "yes"/"true" strings. */
function isYes(value: unknown): boolean {
  return value === true || value === 'yes' || value === 'true';
}
