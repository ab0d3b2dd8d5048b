import type { ToolDefinition } from '../tools/define.js';
import type { Config } from './config.js';

/**
 * tools/list answers computed by scripts/build.mjs from the same registration the server makes, so that the bin does
 * not convert every tool's zod schema to JSON Schema at start (~30–50 ms for 28 tools). `entries` holds each distinct
 * answer as JSON; `index[tool][variant]` points into it.
 */
export interface ToolListTable {
  entries: string[];
  index: Record<string, Record<string, number>>;
}

declare const __ATELIER_TOOL_LIST__: ToolListTable | undefined;

/** The only config a tool's input may depend on (scripts/tool-list.ts fails the build if one reads more). */
export type ToolListVariant = Pick<Config, 'providers' | 'defaultProvider'>;

export function variantKey(config: ToolListVariant): string {
  return JSON.stringify([config.providers, config.defaultProvider]);
}

/** The prebuilt answer for these tools under this config, or undefined (source runs, a variant not prebuilt). */
export function prebuiltToolList(
  tools: ToolDefinition[],
  config: ToolListVariant,
  table: ToolListTable | undefined = typeof __ATELIER_TOOL_LIST__ === 'object'
    ? __ATELIER_TOOL_LIST__
    : undefined,
): (() => Array<Record<string, unknown>>) | undefined {
  if (!table) return undefined;
  const key = variantKey(config);
  const found = tools.map((t) => table.index[t.name]?.[key]);
  if (found.some((i) => i === undefined)) return undefined;
  return () => found.map((i) => JSON.parse(table.entries[i as number] as string) as Record<string, unknown>);
}
