import * as z from 'zod';
import type { Provider } from '../src/config.js';
import type { ToolContext } from '../src/context.js';
import { formatError } from '../src/error-format.js';
import { plural } from '../src/generation/outcome.js';
import { MODEL_FAMILY } from '../src/providers/modelslab/generation.js';
import {
  getModelslabModel,
  listModelslabModels,
  type ModelFilters,
} from '../src/providers/modelslab/models.js';
import { trainedModelsSection } from '../src/providers/modelslab/trained.js';
import { defineTool } from './define.js';
import { provider } from './params.js';

export default defineTool({
  name: 'list_models',
  toolset: 'generate',
  providers: ['pixelmuse', 'modelslab'],
  title: 'List image models',
  description:
    "Image models for generate_image with cost and strengths; `model` shows one ModelsLab model's parameters. " +
    'Free. Use it to pick a model or explain costs.',
  input: (config) => ({
    provider: provider(config.providers as [Provider, ...Provider[]])
      .optional()
      .describe('Default: all.'),
    search: z.string().min(1).optional().describe('Text filter.'),
    feature: z.string().min(1).optional().describe('ModelsLab, e.g. imagen.'),
    model_type: z.string().min(1).optional().describe('ModelsLab, e.g. text-to-image.'),
    vendor: z.string().min(1).optional().describe('ModelsLab, e.g. google.'),
    model: z.string().min(1).optional().describe('ModelsLab model id.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(args, ctx) {
    const shown = args.provider ? [args.provider] : ctx.config.providers;
    const sections: string[] = [];
    for (const which of shown) {
      if (which === 'pixelmuse') {
        if (!args.model) sections.push(await pixelmuseModels(args.search, ctx));
        continue;
      }
      try {
        sections.push(await modelslabModels(args, ctx));
      } catch (error) {
        // Asked for ModelsLab by name: its failure is the answer. Listed alongside Pixelmuse: one line of it.
        if (args.provider === 'modelslab' || args.model) throw error;
        sections.push(`ModelsLab models: unavailable. ${formatError(error).split('\n').join(' ')}`);
      }
    }
    return sections.join('\n\n');
  },
});

async function pixelmuseModels(search: string | undefined, ctx: ToolContext): Promise<string> {
  const [models, pricing] = await Promise.all([
    ctx.pixelmuse.listModels(ctx.signal),
    // Prices are a nicety here: a pricing outage must not hide the model list.
    ctx.pixelmuse.getPricing(ctx.signal).catch(() => undefined),
  ]);
  const needle = search?.toLowerCase();
  const shown = models.filter(
    (m) =>
      !needle ||
      [m.id, m.name, m.description ?? '', ...(m.strengths ?? [])].some((field) =>
        field.toLowerCase().includes(needle),
      ),
  );
  if (shown.length === 0)
    return `No Pixelmuse model matches "${search}". Call list_models without search to see all.`;
  const price = new Map(pricing?.models.map((p) => [p.model, p.price_usd]));
  const lines = shown.map((m) => {
    const usd = price.get(m.id);
    const cost = `${plural(m.credit_cost, 'credit')}${usd !== undefined ? ` ($${usd.toFixed(2)})` : ''}`;
    const facts = [
      cost,
      m.supports_image_input ? 'accepts input_image' : undefined,
      m.is_pro ? 'pro' : undefined,
      m.supported_aspect_ratios?.length ? `ratios ${m.supported_aspect_ratios.join(' ')}` : undefined,
    ].filter(Boolean);
    const good = m.strengths?.length ? `\n  good for: ${m.strengths.join(', ')}` : '';
    const weak = m.weaknesses?.length ? `; weaker at: ${m.weaknesses.join(', ')}` : '';
    return `- ${m.id} (${m.name}): ${facts.join(' · ')}${good}${weak}`;
  });
  return [`Pixelmuse models (${shown.length}), default flux-schnell:`, ...lines].join('\n');
}

async function modelslabModels(args: ModelFilters & { model?: string }, ctx: ToolContext): Promise<string> {
  const family = (id: string) => MODEL_FAMILY[id] ?? 'v6';
  if (args.model) {
    const m = await getModelslabModel(ctx, args.model);
    const lines = [
      `ModelsLab model ${m.model_id} (${m.model_name ?? m.name ?? m.model_id}), ${m.provider ?? 'vendor not given'}, ` +
        `${m.model_type ?? 'type not given'}; generate_image uses the ${family(m.model_id)} API for it.`,
      ...(m.description ? [`  ${m.description}`] : []),
    ];
    for (const config of m.endpoint_configurations ?? []) {
      const required = new Set(config.parameters?.required ?? []);
      lines.push(`Parameters of ${config.name ?? 'its endpoint'} (pass extras in generate_image params):`);
      for (const [name, spec] of Object.entries(config.parameters?.properties ?? {})) {
        const facts = [
          Array.isArray(spec.type) ? spec.type.join('|') : spec.type,
          spec.default !== undefined ? `default ${JSON.stringify(spec.default)}` : undefined,
          Array.isArray(spec.enum) ? `one of ${spec.enum.join(', ')}` : undefined,
          required.has(name) ? 'required' : undefined,
        ].filter(Boolean);
        lines.push(`- ${name}${facts.length ? `: ${facts.join(', ')}` : ''}`);
      }
    }
    return lines.join('\n');
  }
  const models = await listModelslabModels(ctx, args);
  if (models.length === 0) return 'No ModelsLab model matches. Call list_models without filters to see all.';
  const lines = models.map((m) => {
    const facts = [m.provider, m.model_type, family(m.model_id)].filter(Boolean);
    return `- ${m.model_id} (${m.model_name ?? m.name ?? m.model_id}): ${facts.join(' · ')}${m.description ? `\n  ${m.description}` : ''}`;
  });
  const trained = await trainedModelsSection(ctx, { quiet: true });
  return [
    `ModelsLab models (${models.length}), default flux; list_models with model=<id> shows one model's parameters:`,
    ...lines,
    ...(trained ? ['', trained] : []),
  ].join('\n');
}
