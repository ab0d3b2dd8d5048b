import type { ZodRawShape } from 'zod';
import type { ToolDefinition } from '../tools/define.js';
import type { Config } from './config.js';

/** Toolsets, --read-only (derived from readOnlyHint, never a second list) and --providers. */
export function selectTools(
  tools: ToolDefinition[],
  config: Pick<Config, 'toolsets' | 'readOnly' | 'providers'>,
): ToolDefinition[] {
  return tools.filter(
    (t) =>
      config.toolsets.includes(t.toolset) &&
      (!config.readOnly || t.annotations.readOnlyHint) &&
      (t.provider === undefined || config.providers.includes(t.provider)),
  );
}

export function inputShape(tool: ToolDefinition, config: Config): ZodRawShape {
  return typeof tool.input === 'function' ? tool.input(config) : tool.input;
}
