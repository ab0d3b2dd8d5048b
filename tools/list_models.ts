import * as z from 'zod';
import { plural } from '../src/generation/outcome.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'list_models',
  toolset: 'generate',
  providers: ['pixelmuse'],
  title: 'List image models',
  description:
    'Lists the image models you can pass to generate_image, with cost per image (credits and USD), supported ' +
    'aspect ratios, whether they accept an input image, and what each is good at. Free; needs no key. ' +
    'Use it to pick a model for a job or to explain costs before generating.',
  input: {
    search: z
      .string()
      .min(1)
      .optional()
      .describe('Case-insensitive filter on id, name, description and strengths.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ search }, ctx) {
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
  },
});
