import * as z from 'zod';
import catalog from './catalog.json' with { type: 'json' };

interface PromptEntry {
  name: string;
  title: string;
  description: string;
  args: Record<string, { description: string; required: boolean }>;
  template: string;
}

export interface PromptDefinition {
  name: string;
  title: string;
  description: string;
  args: Record<string, z.ZodString | z.ZodOptional<z.ZodString>>;
  render(values: Record<string, string | undefined>): string;
}

/** `{{name}}` or `{{name|fallback}}`; a missing optional value takes the fallback (or nothing). */
export function renderTemplate(template: string, values: Record<string, string | undefined>): string {
  return template.replace(/\{\{(\w+)(?:\|([^}]*))?\}\}/g, (_m, key: string, fallback?: string) => {
    const value = values[key]?.trim();
    return value ? value : (fallback ?? '');
  });
}

function load(entry: PromptEntry): PromptDefinition {
  const args = Object.fromEntries(
    Object.entries(entry.args).map(([key, spec]) => {
      const base = z.string().describe(spec.description);
      return [key, spec.required ? base : base.optional()];
    }),
  );
  return {
    name: entry.name,
    title: entry.title,
    description: entry.description,
    args,
    render: (values) => renderTemplate(entry.template, values),
  };
}

export const PROMPTS: PromptDefinition[] = (catalog as PromptEntry[]).map(load);
