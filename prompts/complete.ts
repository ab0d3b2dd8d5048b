import { PROVIDERS, type Provider } from '../src/config.js';
import { MODEL_FAMILY } from '../src/providers/modelslab/generation.js';
import { PIXELMUSE_ASPECT_RATIOS } from '../src/providers/pixelmuse/types.js';
import type { PromptTemplate } from './template.js';

/**
 * Model ids offered as completions. Static on purpose: completion answers while the user types, so it never waits
 * on the network. Pixelmuse: its public API's models (the emulator serves the same ids). ModelsLab: the models whose
 * API family the generation adapter knows; its catalogue has thousands more, which list_models searches.
 */
export const KNOWN_MODELS: Record<Provider, readonly string[]> = {
  pixelmuse: ['flux-schnell', 'imagen-3', 'nano-banana-2', 'nano-banana-pro', 'recraft-v4', 'recraft-v4-pro'],
  modelslab: Object.keys(MODEL_FAMILY),
};

/** The MCP limit for one completion answer. */
const MAX_VALUES = 100;

/**
 * Values for one argument of a prompt while the user types `typed`. Arguments are recognised by name, so a workflow
 * that takes `aspect_ratio` or `pixelmuse_model` gets the same help as an image template. `context` holds the
 * arguments already filled in: a chosen provider narrows the models.
 */
export function completeArgument(
  template: PromptTemplate,
  argument: string,
  typed: string,
  context: Record<string, string> = {},
): string[] {
  const variable = template.variables[argument];
  if (variable?.values) return matching(variable.values, typed);
  if (argument === 'provider') return matching(PROVIDERS, typed);
  if (argument === 'aspect_ratio') return matching(PIXELMUSE_ASPECT_RATIOS, typed);
  const prefixed = PROVIDERS.find((p) => argument === `${p}_model`);
  if (prefixed) return matching(KNOWN_MODELS[prefixed], typed, true);
  if (argument === 'model') {
    const chosen = context.provider ?? template.defaults.provider;
    const providers = PROVIDERS.filter((p) => chosen === undefined || chosen === p);
    return matching([...new Set(providers.flatMap((p) => KNOWN_MODELS[p]))], typed, true);
  }
  return [];
}

/**
 * Prefix matches (`pix` → pixelmuse, `16` → 16:9); for model ids, then the ids that contain the text, since a
 * family name sits in the middle (`banana` → nano-banana-pro).
 */
function matching(values: readonly string[], typed: string, inside = false): string[] {
  const t = typed.trim().toLowerCase();
  const prefix = values.filter((v) => v.toLowerCase().startsWith(t));
  const contains =
    inside && t ? values.filter((v) => !prefix.includes(v) && v.toLowerCase().includes(t)) : [];
  return [...prefix, ...contains].slice(0, MAX_VALUES);
}
