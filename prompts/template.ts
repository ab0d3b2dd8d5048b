import * as z from 'zod';
import { PROVIDERS, type Provider } from '../src/config.js';
import { UserInputError } from '../src/errors.js';
import { PIXELMUSE_ASPECT_RATIOS } from '../src/providers/pixelmuse/types.js';

/**
 * One prompt file, built-in or the user's. An image template (`prompt`) becomes a prompt that tells the agent to
 * call generate_image; a workflow (`instructions`) is a prompt whose text is the instructions themselves.
 */
export interface PromptTemplate {
  kind: 'image' | 'workflow';
  name: string;
  title: string;
  description: string;
  /** The image prompt or the workflow's instructions, with {{ variable }} placeholders. */
  text: string;
  defaults: { provider?: Provider; model?: string; aspect_ratio?: string };
  variables: Record<string, Variable>;
  tags: string[];
  /** `built-in`, or the path of the user's file. */
  source: string;
}

export interface Variable {
  /** Absent: the argument is required. */
  default?: string;
  description?: string;
  /** The only values allowed (and offered as completions). */
  values?: string[];
}

/** The shape of an MCP prompt argument. */
export interface PromptArgument {
  name: string;
  description: string;
  required: boolean;
}

/** Image templates take these as optional arguments that override their defaults. */
export const OVERRIDES = ['provider', 'model', 'aspect_ratio'] as const;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;
// Prompt names become slash commands (Claude Code: /mcp__atelier__blog_thumbnail): no spaces or dots.
const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

// YAML reads `count: 4` as a number and `on: yes` as a boolean; a template author means the text.
const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);

const variableSchema = z.union([
  z.null().transform((): Variable => ({})),
  scalar.transform((value): Variable => ({ default: value })),
  z.strictObject({
    default: scalar.nullish(),
    description: z.string().max(300).optional(),
    values: z.array(scalar).min(1).max(50).optional(),
  }),
]);

const fileSchema = z.strictObject({
  name: z.string().regex(NAME, 'lower-case letters, digits, _ and - only (it becomes a slash command)'),
  title: z.string().min(1).max(80).optional(),
  description: z.string().min(1).max(1_000).optional(),
  prompt: z.string().min(1).max(8_000).optional(),
  instructions: z.string().min(1).max(8_000).optional(),
  defaults: z
    .strictObject({
      provider: z.enum(PROVIDERS).optional(),
      model: z.string().min(1).max(200).optional(),
      // generate_image takes these ratios on every provider.
      aspect_ratio: z
        .enum(PIXELMUSE_ASPECT_RATIOS, {
          error: `one of ${PIXELMUSE_ASPECT_RATIOS.join(', ')} (quoted in YAML)`,
        })
        .optional(),
    })
    .optional(),
  variables: z
    .record(z.string().regex(VARIABLE_NAME, 'letters, digits and _ only'), variableSchema)
    .optional(),
  tags: z.array(z.string().min(1).max(40)).max(20).optional(),
});

/** Validates one parsed file; throws a UserInputError that lists every problem. */
export function parseTemplate(document: unknown, source: string): PromptTemplate {
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    throw new UserInputError(
      parsed.error.issues.map((i) => `${i.path.join('.') || 'the file'}: ${i.message}`).join('; '),
    );
  }
  const file = parsed.data;
  const problems: string[] = [];
  if ((file.prompt === undefined) === (file.instructions === undefined))
    problems.push('give either prompt (an image template) or instructions (a workflow), not both or neither');
  const kind = file.prompt !== undefined ? 'image' : 'workflow';
  const text = file.prompt ?? file.instructions ?? '';
  if (kind === 'workflow' && file.defaults)
    problems.push('defaults apply to image templates (prompt), not to instructions');

  const variables: Record<string, Variable> = {};
  for (const [name, raw] of Object.entries(file.variables ?? {})) {
    const variable: Variable = {};
    if (raw.default !== undefined && raw.default !== null) variable.default = raw.default;
    if (raw.description !== undefined) variable.description = raw.description;
    if (raw.values !== undefined) variable.values = raw.values;
    if (variable.values && variable.default !== undefined && !variable.values.includes(variable.default))
      problems.push(`variables.${name}: the default "${variable.default}" is not one of its values`);
    if (kind === 'image' && (OVERRIDES as readonly string[]).includes(name))
      problems.push(`variables.${name}: ${name} is set under defaults and given as an argument already`);
    variables[name] = variable;
  }
  const used = placeholders(text);
  const undeclared = [...used].filter((n) => !(n in variables));
  if (undeclared.length)
    problems.push(`{{ ${undeclared.join(' }}, {{ ')} }} used but not declared under variables`);
  const unused = Object.keys(variables).filter((n) => !used.has(n));
  if (unused.length) problems.push(`variables ${unused.join(', ')} declared but never used as {{ name }}`);
  if (text.replace(PLACEHOLDER, '').includes('{{')) problems.push('a {{ without a valid {{ name }} after it');
  if (problems.length) throw new UserInputError(problems.join('; '));

  return {
    kind,
    name: file.name,
    title: file.title ?? file.name.charAt(0).toUpperCase() + file.name.slice(1).replace(/[_-]/g, ' '),
    description: file.description ?? `${kind === 'image' ? 'Image' : 'Workflow'}: ${text.slice(0, 120)}`,
    text,
    defaults: file.defaults ?? {},
    variables,
    tags: file.tags ?? [],
    source,
  };
}

function placeholders(text: string): Set<string> {
  return new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1]!));
}

export function promptArguments(t: PromptTemplate): PromptArgument[] {
  const args = Object.entries(t.variables).map(([name, v]) => ({
    name,
    description: [
      v.description ?? name.replace(/_/g, ' '),
      v.values ? `One of: ${v.values.join(', ')}.` : '',
      v.default ? `Default: ${v.default}.` : '',
    ]
      .filter(Boolean)
      .join(' '),
    required: v.default === undefined,
  }));
  if (t.kind === 'workflow') return args;
  const { provider, model, aspect_ratio } = t.defaults;
  return [
    ...args,
    {
      name: 'provider',
      description: `${PROVIDERS.join(' or ')}. Default: ${provider ?? 'the configured default'}.`,
      required: false,
    },
    {
      name: 'model',
      description: `Model id from list_models. Default: ${model ? `${model} (on ${provider ?? 'any provider'})` : "the provider's default"}.`,
      required: false,
    },
    {
      name: 'aspect_ratio',
      description: `e.g. 16:9, 1:1, 9:16. Default: ${aspect_ratio ?? '1:1'}.`,
      required: false,
    },
  ];
}

/**
 * The text of the prompt's one user message. Every argument is checked first, and all problems are reported at
 * once: arguments the prompt does not have, required ones left empty, values it does not allow.
 */
export function renderTemplate(t: PromptTemplate, given: Record<string, string | undefined>): string {
  const names = promptArguments(t).map((a) => a.name);
  const value = (name: string): string | undefined => {
    const v = given[name]?.trim();
    return v ? v : undefined;
  };
  const problems: string[] = [];
  const unknown = Object.keys(given).filter((n) => !names.includes(n));
  if (unknown.length) problems.push(`no argument named ${unknown.join(', ')}`);
  const missing = Object.entries(t.variables)
    .filter(([n, v]) => v.default === undefined && value(n) === undefined)
    .map(([n]) => n);
  if (missing.length) problems.push(`missing ${missing.join(', ')} (no default)`);
  for (const [n, v] of Object.entries(t.variables)) {
    const got = value(n);
    if (got !== undefined && v.values && !v.values.includes(got))
      problems.push(`${n} must be one of ${v.values.join(', ')}, not "${got}"`);
  }
  const provider = t.kind === 'image' ? value('provider') : undefined;
  if (provider !== undefined && !(PROVIDERS as readonly string[]).includes(provider))
    problems.push(`provider must be ${PROVIDERS.join(' or ')}, not "${provider}"`);
  const ratio = t.kind === 'image' ? value('aspect_ratio') : undefined;
  if (ratio !== undefined && !(PIXELMUSE_ASPECT_RATIOS as readonly string[]).includes(ratio))
    problems.push(`aspect_ratio must be one of ${PIXELMUSE_ASPECT_RATIOS.join(', ')}, not "${ratio}"`);
  if (problems.length) {
    throw new UserInputError(`Prompt ${t.name}: ${problems.join('; ')}.`, {
      facts: [`Its arguments: ${names.join(', ')}.`],
      next: `Call it again with the arguments fixed${t.source === 'built-in' ? '' : ` (template ${t.source})`}.`,
    });
  }
  const text = t.text.replace(PLACEHOLDER, (_m, n: string) => value(n) ?? t.variables[n]?.default ?? '');
  return t.kind === 'workflow' ? text : imageRequest(t, text, provider, value('model'), ratio);
}

function imageRequest(
  t: PromptTemplate,
  prompt: string,
  provider: string | undefined,
  model: string | undefined,
  ratio: string | undefined,
): string {
  const effectiveProvider = provider ?? t.defaults.provider;
  // A default model belongs to the default provider: flux-schnell means nothing on ModelsLab.
  const defaultModel =
    !t.defaults.provider || effectiveProvider === t.defaults.provider ? t.defaults.model : undefined;
  const args = {
    // Empty optional variables would leave doubled spaces and dangling commas in the middle of a sentence.
    prompt: prompt
      .replace(/\s+/g, ' ')
      .replace(/ ,/g, ',')
      .replace(/,(\s*,)+/g, ',')
      .replace(/^[\s,]+|[\s,]+$/g, ''),
    ...(effectiveProvider ? { provider: effectiveProvider } : {}),
    ...((model ?? defaultModel) ? { model: model ?? defaultModel } : {}),
    ...((ratio ?? t.defaults.aspect_ratio) ? { aspect_ratio: ratio ?? t.defaults.aspect_ratio } : {}),
  };
  return [
    `Make this image with the generate_image tool (template "${t.name}"), passing exactly these arguments:`,
    JSON.stringify(args, null, 2),
    'Before calling it, tell me what one image costs with that model (list_models). Afterwards show me the saved ' +
      'path, the preview and the resource URI from the result.',
  ].join('\n');
}
