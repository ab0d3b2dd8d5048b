import app_icon from './builtin/app_icon.yaml';
import blog_thumbnail from './builtin/blog_thumbnail.yaml';
import compare_providers from './builtin/compare_providers.yaml';
import fund_or_subscribe_via_link from './builtin/fund_or_subscribe_via_link.yaml';
import generate_within_budget from './builtin/generate_within_budget.yaml';
import get_started from './builtin/get_started.yaml';
import hero_image from './builtin/hero_image.yaml';
import onboard_modelslab from './builtin/onboard_modelslab.yaml';
import product_shot from './builtin/product_shot.yaml';
import { parseTemplate, type PromptTemplate } from './template.js';

/**
 * The built-in prompts in menu order: workflows, then image templates. Each file is YAML parsed at build time
 * (scripts/yaml-plugin.mjs) and named after its prompt (a test checks both).
 */
export const BUILTIN_DOCUMENTS: Record<string, unknown> = {
  get_started,
  onboard_modelslab,
  fund_or_subscribe_via_link,
  generate_within_budget,
  compare_providers,
  blog_thumbnail,
  hero_image,
  app_icon,
  product_shot,
};

let parsed: PromptTemplate[] | undefined;

/** Validated on first use; a built-in that fails validation is a bug that the prompt tests catch. */
export function builtinTemplates(): PromptTemplate[] {
  parsed ??= Object.values(BUILTIN_DOCUMENTS).map((doc) => parseTemplate(doc, 'built-in'));
  return parsed;
}
