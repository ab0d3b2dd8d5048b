import type { ToolSummary } from '../../tools/define.js';
import type { Config } from '../config.js';
import { adminActionsOn } from '../tool-selection.js';
import type { InitializeAnswer } from './early-answers.js';

/**
 * What scripts/build.mjs computes of the tools so that the bin neither loads the tool modules nor converts their
 * zod schemas to JSON Schema before `initialize` and `tools/list` are answered: a summary of every tool (enough
 * to select them), the tools/list answers, and the initialize answer (src/mcp/early-answers.ts). `entries` holds each distinct answer as JSON;
 * `index[tool][variant]` points into it.
 */
export interface ToolListTable {
  initialize: InitializeAnswer;
  tools: ToolSummary[];
  entries: string[];
  index: Record<string, Record<string, number>>;
}

/** The table as JSON: one string literal parses faster than the object literal it would otherwise be. */
declare const __ATELIER_TOOL_LIST__: string | undefined;

/** The build's table; undefined when running from source. */
export function builtToolTable(): ToolListTable | undefined {
  return typeof __ATELIER_TOOL_LIST__ === 'string'
    ? (JSON.parse(__ATELIER_TOOL_LIST__) as ToolListTable)
    : undefined;
}

/**
 * The only config a tool's input may depend on (scripts/tool-list.ts fails the build if one reads more): the
 * providers, the default provider, and whether the `admin` toolset adds its actions to two tools (adminActionsOn).
 */
export type ToolListVariant = Pick<Config, 'providers' | 'defaultProvider'> &
  Partial<Pick<Config, 'toolsets' | 'readOnly'>>;

export function variantKey(config: ToolListVariant): string {
  return JSON.stringify([
    config.providers,
    config.defaultProvider,
    ...(adminActionsOn({ toolsets: config.toolsets ?? [], readOnly: config.readOnly ?? false })
      ? ['admin']
      : []),
  ]);
}

/** The prebuilt answer for these tools under this config, or undefined (a variant or a tool not prebuilt). */
export function prebuiltToolList(
  tools: readonly Pick<ToolSummary, 'name'>[],
  config: ToolListVariant,
  table: ToolListTable,
): (() => Array<Record<string, unknown>>) | undefined {
  const key = variantKey(config);
  const found = tools.map((t) => table.index[t.name]?.[key]);
  if (found.some((i) => i === undefined)) return undefined;
  return () => found.map((i) => JSON.parse(table.entries[i as number] as string) as Record<string, unknown>);
}
