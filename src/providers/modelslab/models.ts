import type { ToolContext } from '../../context.js';
import { ConfigurationError } from '../../errors.js';
import { MISSING_KEY_NEXT } from './errors.js';
import { modelslabGenerationClient } from './generation-client.js';

/** A model as /api/agents/v1/models and /api/v6/model-search describe it (fields seen: notes/modelslab.md §1.4). */
export interface ModelslabModel {
  model_id: string;
  model_name?: string;
  name?: string;
  provider?: string;
  model_type?: string;
  model_subcategory?: string;
  feature?: string;
  base_model?: string;
  description?: string;
  endpoint_configurations?: Array<{
    name?: string;
    endpoint?: string;
    parameters?: { required?: string[]; properties?: Record<string, Record<string, unknown>> };
  }>;
}

export interface ModelFilters {
  search?: string;
  feature?: string;
  model_type?: string;
  /** ModelsLab's `provider` filter: the model's vendor (google, black-forest-labs…). */
  vendor?: string;
}

type Ctx = Pick<ToolContext, 'config' | 'modelslab' | 'log' | 'signal'>;

/** Model lists change rarely; an agent often lists, then asks for one model, then generates. */
const CACHE_MS = 5 * 60_000;
const MAX_CACHED = 50;
const cache = new Map<string, { at: number; value: Promise<unknown> }>();

function cached<T>(key: string, load: () => Promise<T>): Promise<T> {
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.value as Promise<T>;
  const value = load();
  cache.set(key, { at: Date.now(), value });
  if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
  // A failure is not kept: the next call asks again.
  value.catch(() => cache.delete(key));
  return value;
}

/** With a token the Agents API, else the API-key twin; `via` says which answered. */
async function source(ctx: Ctx): Promise<'token' | 'key'> {
  if (await ctx.modelslab.tokens.current()) return 'token';
  if (await ctx.modelslab.apiKey()) return 'key';
  throw new ConfigurationError('No ModelsLab credential is configured, so its models cannot be listed.', {
    next: MISSING_KEY_NEXT,
  });
}

export async function listModelslabModels(ctx: Ctx, filters: ModelFilters): Promise<ModelslabModel[]> {
  const via = await source(ctx);
  const query = {
    search: filters.search,
    feature: filters.feature,
    model_type: filters.model_type,
    provider: filters.vendor,
    per_page: 50,
  };
  return cached(`${ctx.config.modelslabBaseUrl} list ${via} ${JSON.stringify(query)}`, async () => {
    const data =
      via === 'token'
        ? (
            await ctx.modelslab.request({
              method: 'GET',
              path: '/models',
              query,
              limiter: 'agent-general',
              signal: ctx.signal,
            })
          ).data
        : await modelslabGenerationClient(ctx).get('/api/v6/model-search', query, { signal: ctx.signal });
    return listOf(data).filter((m) => typeof m.model_id === 'string');
  });
}

export async function getModelslabModel(ctx: Ctx, id: string): Promise<ModelslabModel> {
  const via = await source(ctx);
  const path = encodeURIComponent(id);
  return cached(`${ctx.config.modelslabBaseUrl} one ${via} ${id}`, async () => {
    const data =
      via === 'token'
        ? (
            await ctx.modelslab.request({
              method: 'GET',
              path: `/models/${path}`,
              limiter: 'agent-general',
              signal: ctx.signal,
            })
          ).data
        : await modelslabGenerationClient(ctx).get(
            `/api/v6/model-search/${path}`,
            {},
            { signal: ctx.signal },
          );
    const body = data as { data?: unknown } & ModelslabModel;
    return (body.model_id ? body : body.data) as ModelslabModel;
  });
}

/** `data` is an array, `{items: [...]}` (seen by the CLI), or the whole body wraps it once more. */
function listOf(data: unknown): ModelslabModel[] {
  if (Array.isArray(data)) return data as ModelslabModel[];
  if (data && typeof data === 'object') {
    const d = data as { items?: unknown; data?: unknown };
    if (Array.isArray(d.items)) return d.items as ModelslabModel[];
    if (d.data !== undefined) return listOf(d.data);
  }
  return [];
}
