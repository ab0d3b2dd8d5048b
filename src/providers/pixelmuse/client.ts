import { annotate, ConfigurationError, ProviderError, UserInputError } from '../../errors.js';
import { HttpClient, type HttpResponse, type Method } from '../../http/client.js';
import type { Logger } from '../../log.js';
import { VERSION } from '../../version.js';
import { rawJson } from '../raw-json.js';
import { MISSING_KEY_NEXT, parsePixelmuseError, PIXELMUSE_HINTS } from './errors.js';
import type {
  AccountResponse,
  CheckoutResponse,
  CreateImageRequest,
  CreditPackage,
  ImageObject,
  ListImagesResponse,
  ModelObject,
  MppImageObject,
  PricingResponse,
  UsageResponse,
  Visibility,
} from './types.js';

export interface PixelmuseClientOptions {
  baseUrl: string;
  /** Asked before every authenticated call (the caller may cache); undefined means not configured. */
  apiKey: () => Promise<string | undefined>;
  /** Told when the key was rejected (401), so a cached copy is read again next time. */
  onUnauthorized?: () => void;
  log: Logger;
  http?: Partial<ConstructorParameters<typeof HttpClient>[0]>;
}

export interface CreateImageResult {
  image: ImageObject;
  /** 201 = finished inside the wait, 202 = still processing. */
  status: number;
  replayed: boolean;
  requestId: string | undefined;
}

export interface RateLimitSnapshot {
  limit?: number;
  remaining?: number;
  reset?: string;
}

/** Statuses that reached no generation (rate limit, gateway) and may be sent again with the same credential. */
const PAID_RETRY_STATUS: ReadonlySet<number> = new Set([408, 425, 429, 502, 503]);

export class PixelmuseClient {
  private readonly http: HttpClient;
  private readonly apiKey: () => Promise<string | undefined>;
  private readonly onUnauthorized: () => void;
  /** The last rate-limit headers seen, for account_status. */
  rateLimit: RateLimitSnapshot = {};

  constructor(options: PixelmuseClientOptions) {
    this.apiKey = options.apiKey;
    this.onUnauthorized = options.onUnauthorized ?? (() => {});
    this.http = new HttpClient({
      provider: 'pixelmuse',
      baseUrl: options.baseUrl,
      userAgent: `atelier-mcp/${VERSION}`,
      log: options.log,
      parseError: parsePixelmuseError,
      hints: PIXELMUSE_HINTS,
      ...options.http,
    });
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** A new key was stored: any cached copy of the old one is read again on the next call. */
  forgetKey(): void {
    this.onUnauthorized();
  }

  /**
   * POST /images. `waitSeconds` asks the server to hold the answer until the image is done
   * (Prefer: wait); the idempotency key makes our own retries replay instead of charging again.
   */
  async createImage(
    body: CreateImageRequest,
    opts: { idempotencyKey: string; waitSeconds?: number; signal?: AbortSignal; deadline?: number },
  ): Promise<CreateImageResult> {
    const wait =
      opts.waitSeconds !== undefined && opts.waitSeconds > 0 ? Math.ceil(opts.waitSeconds) : undefined;
    let res: HttpResponse<ImageObject>;
    let image: ImageObject;
    try {
      res = await this.call<ImageObject>('POST', '/api/v1/images', {
        json: body,
        idempotencyKey: opts.idempotencyKey,
        headers: wait ? { prefer: `wait=${wait}` } : {},
        signal: opts.signal,
        deadline: opts.deadline,
        // The server may hold the answer for the whole wait: give it room beyond that.
        timeoutMs: ((wait ?? 0) + 30) * 1000,
      });
      image = expectImage(res);
    } catch (error) {
      throw mayHaveCreated(error);
    }
    return {
      image,
      status: res.status,
      replayed: res.headers['x-idempotent-replayed'] === 'true',
      requestId: res.requestId,
    };
  }

  async getImage(id: string, bounds: { signal?: AbortSignal; deadline?: number } = {}): Promise<ImageObject> {
    return expectImage(await this.call<ImageObject>('GET', imagePath(id), bounds));
  }

  async listImages(
    query: { limit?: number; cursor?: string; status?: string },
    signal?: AbortSignal,
  ): Promise<ListImagesResponse> {
    const res = await this.call<ListImagesResponse>('GET', '/api/v1/images', { query, signal });
    return {
      data: res.body.data ?? [],
      has_more: Boolean(res.body.has_more),
      next_cursor: res.body.next_cursor ?? null,
    };
  }

  async updateImage(
    id: string,
    patch: { visibility: Visibility },
    signal?: AbortSignal,
  ): Promise<ImageObject> {
    return expectImage(await this.call<ImageObject>('PATCH', imagePath(id), { json: patch, signal }));
  }

  /** 204 with no body: nothing to parse (pixelmuse-cli broke exactly here). */
  async deleteImage(id: string, signal?: AbortSignal): Promise<void> {
    await this.call('DELETE', imagePath(id), { signal });
  }

  async listModels(signal?: AbortSignal): Promise<ModelObject[]> {
    const res = await this.call<{ data: ModelObject[] } | ModelObject[]>('GET', '/api/v1/models', {
      signal,
      auth: false,
    });
    return unwrapList(res.body);
  }

  async getModel(id: string, signal?: AbortSignal): Promise<ModelObject> {
    const res = await this.call<ModelObject>(
      'GET',
      `/api/v1/models/${encodeURIComponent(checkId(id, 'model'))}`,
      {
        signal,
        auth: false,
      },
    );
    return res.body;
  }

  async getAccount(signal?: AbortSignal): Promise<AccountResponse> {
    const res = await this.call<AccountResponse>('GET', '/api/v1/account', { signal });
    if (!res.body || typeof res.body !== 'object') {
      throw new ProviderError({
        provider: 'pixelmuse',
        status: res.status,
        code: 'unexpected_response',
        message: 'Pixelmuse answered the account request without an account object.',
        requestId: res.requestId,
      });
    }
    return res.body;
  }

  async getUsage(signal?: AbortSignal): Promise<UsageResponse> {
    return (await this.call<UsageResponse>('GET', '/api/v1/account/usage', { signal })).body;
  }

  async getPricing(signal?: AbortSignal): Promise<PricingResponse> {
    return (await this.call<PricingResponse>('GET', '/api/v1/pricing', { signal, auth: false })).body;
  }

  async listPackages(signal?: AbortSignal): Promise<CreditPackage[]> {
    const res = await this.call<{ data: CreditPackage[] }>('GET', '/api/v1/billing/packages', {
      signal,
      auth: false,
    });
    return unwrapList(res.body);
  }

  /**
   * One package as Pixelmuse lists it, with a price the spending caps can be checked against before a checkout
   * exists: an unknown name is the caller's mistake, a price that is not a positive number of dollars Pixelmuse's.
   */
  async findPackage(name: string, signal?: AbortSignal): Promise<CreditPackage> {
    const res = await this.call<{ data?: unknown } | unknown[]>('GET', '/api/v1/billing/packages', {
      signal,
      auth: false,
    });
    const listed = Array.isArray(res.body) ? res.body : (res.body as { data?: unknown } | undefined)?.data;
    const packages = (Array.isArray(listed) ? listed : []).filter(
      (p): p is Partial<CreditPackage> => typeof p === 'object' && p !== null,
    );
    const pkg = packages.find((p) => p.name === name);
    if (!pkg) {
      const offered = packages.flatMap((p) => (typeof p.name === 'string' ? [p.name] : [])).join(', ');
      throw new UserInputError(
        `Pixelmuse offers no credit package "${clip(name, 60)}" (${offered ? `it offers ${clip(offered, 200)}` : 'it lists none right now'}).`,
        { next: 'Pass a package name that get_pricing lists, or leave package out for credit_pack.' },
      );
    }
    const price = pkg.price_usd;
    if (typeof price !== 'number' || !Number.isFinite(price) || price <= 0) {
      throw new ProviderError({
        provider: 'pixelmuse',
        status: res.status,
        code: 'unexpected_response',
        requestId: res.requestId,
        message:
          `Pixelmuse lists ${clip(name, 60)} at a price of ${rawJson(price)}, not a positive amount in USD, so the ` +
          'spending caps cannot be checked: no checkout was created and nothing was charged.',
        next: 'Retry in a few minutes; get_pricing shows the packages as Pixelmuse lists them.',
        body: res.body,
        hints: PIXELMUSE_HINTS,
      });
    }
    return pkg as CreditPackage;
  }

  async createCheckout(pkg: string, signal?: AbortSignal): Promise<CheckoutResponse> {
    return (
      await this.call<CheckoutResponse>('POST', '/api/v1/billing/checkout', {
        json: { package: pkg },
        signal,
      })
    ).body;
  }

  /**
   * POST /images/generate with no key: the MPP endpoint. Without `payment` the answer is normally the 402
   * challenge (thrown as a ProviderError that keeps the headers); with it, the paid retry of the same request.
   * Both carry the operation's idempotency key, so a replay after a lost answer returns the image, not a charge.
   */
  async generateWithPayment(
    body: CreateImageRequest,
    opts: { idempotencyKey: string; payment?: { header: string; value: string }; signal?: AbortSignal },
  ): Promise<HttpResponse<MppImageObject>> {
    const res = await this.call<MppImageObject>('POST', '/api/v1/images/generate', {
      json: body,
      idempotencyKey: opts.idempotencyKey,
      headers: opts.payment ? { [opts.payment.header]: opts.payment.value } : {},
      signal: opts.signal,
      auth: false,
      timeoutMs: 120_000,
      // Once paid, a 500/504 is final (Pixelmuse refunds it): sending the used credential again cannot help.
      ...(opts.payment ? { retryOn: PAID_RETRY_STATUS } : {}),
    });
    expectImage(res);
    return res;
  }

  private async call<T>(
    method: Method,
    path: string,
    opts: {
      json?: unknown;
      query?: Record<string, string | number | undefined>;
      headers?: Record<string, string>;
      idempotencyKey?: string;
      signal?: AbortSignal | undefined;
      timeoutMs?: number;
      deadline?: number;
      auth?: boolean;
      retryOn?: ReadonlySet<number>;
    },
  ): Promise<HttpResponse<T>> {
    let authorization: string | undefined;
    if (opts.auth !== false) {
      const key = await this.apiKey();
      if (!key)
        throw new ConfigurationError('No Pixelmuse API key is configured.', { next: MISSING_KEY_NEXT });
      // Such a key cannot go into a header at all: say so instead of "Could not reach Pixelmuse" after retries.
      if (!KEY_CHARS.test(key)) {
        throw new ConfigurationError(
          'The Pixelmuse API key contains a space or control character (a pasted newline?), so it cannot be sent.',
          { next: MISSING_KEY_NEXT },
        );
      }
      authorization = `Bearer ${key}`;
    }
    try {
      const res = await this.http.request<T>({
        method,
        path,
        authorization,
        ...opts,
        signal: opts.signal ?? undefined,
      });
      this.noteRateLimit(res.headers);
      return res;
    } catch (error) {
      if (error instanceof ProviderError && error.status === 401) this.onUnauthorized();
      throw error;
    }
  }

  private noteRateLimit(headers: Record<string, string>): void {
    const limit = headers['x-ratelimit-limit'];
    const remaining = headers['x-ratelimit-remaining'];
    const reset = headers['x-ratelimit-reset'];
    if (limit === undefined && remaining === undefined) return;
    this.rateLimit = {
      ...(limit !== undefined ? { limit: Number(limit) } : {}),
      ...(remaining !== undefined ? { remaining: Number(remaining) } : {}),
      ...(reset !== undefined ? { reset } : {}),
    };
  }
}

const KEY_CHARS = /^[\x21-\x7e]+$/;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// Ids seen: img_…, gen_…, gemini_…, UUIDs. Anything else (".." above all) must never become a path segment.
const ID_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function checkId(id: string, what: 'image' | 'model'): string {
  if (!ID_SHAPE.test(id)) {
    throw new UserInputError(
      `"${id.slice(0, 40)}${id.length > 40 ? '…' : ''}" is not a Pixelmuse ${what} id (letters, digits, "_", "-", ".", ":", at most 128, starting with a letter or digit).`,
      {
        next:
          what === 'image'
            ? 'Pass an id exactly as generate_image or pixelmuse_list_images returned it, e.g. img_abc123.'
            : 'Pass a model id from list_models.',
      },
    );
  }
  return id;
}

function imagePath(id: string): string {
  return `/api/v1/images/${encodeURIComponent(checkId(id, 'image'))}`;
}

/** A 2xx to POST /images whose body was lost: the job may exist and may be charged; say how to find it. */
function mayHaveCreated(error: unknown): unknown {
  if (!(error instanceof ProviderError) || error.status === undefined || error.status >= 300) return error;
  const text = typeof error.body === 'string' ? error.body : '';
  const id = /"id"\s*:\s*"([A-Za-z0-9][A-Za-z0-9._:-]{0,127})"/.exec(text)?.[1];
  return annotate(error, {
    facts: [
      `Pixelmuse answered HTTP ${error.status}, so the job may have been created and charged${id ? `: its id looks like ${id}` : ''}.`,
    ],
    next:
      `Do not generate again yet: call pixelmuse_list_images (newest first) to find the job` +
      `${id ? ` (or get_generation with id "${id}")` : ''}, then get_generation with its id to save the image.`,
  });
}

function expectImage(res: HttpResponse<ImageObject | MppImageObject>): ImageObject {
  const body = res.body as Partial<Record<keyof ImageObject, unknown>> | undefined;
  const unusable = (message: string) =>
    new ProviderError({
      provider: 'pixelmuse',
      status: res.status,
      code: 'unexpected_response',
      message,
      requestId: res.requestId,
      body: res.body,
      next: 'Call pixelmuse_list_images (newest first) to find the job, then get_generation with its id.',
      hints: PIXELMUSE_HINTS,
    });
  if (!body || typeof body !== 'object' || body.id === undefined || body.id === null)
    throw unusable('Pixelmuse answered without an image id and status.');
  // The id is quoted as sent: it may be the only trace of a job that was created and paid for.
  if (typeof body.id !== 'string' || !ID_SHAPE.test(body.id))
    throw unusable(`Pixelmuse sent an image id that cannot be used: ${rawJson(body.id)}.`);
  if (typeof body.status !== 'string')
    throw unusable(
      `Pixelmuse answered for image ${body.id} without a status (status: ${rawJson(body.status)}).`,
    );
  return { output: null, ...body } as ImageObject;
}

function unwrapList<T>(body: { data: T[] } | T[] | undefined): T[] {
  // GET /models and /billing/packages wrap their lists in {data}; older builds answered bare arrays.
  if (Array.isArray(body)) return body;
  return body?.data ?? [];
}
