import * as z from 'zod';
import type { ToolDefinition } from '../../tools/define.js';
import type { Config } from '../config.js';
import { adminActionsOn } from '../tool-selection.js';

// A tool's input as zod (to validate a call) and as JSON Schema (what tools/list shows). Loaded with the first
// call or the first computed tools/list, never before `initialize` is answered: the bin lists tools from the
// build's table (src/mcp/tool-list.ts), which scripts/tool-list.ts computes with this module.

export function inputShape(tool: ToolDefinition, config: Config): z.ZodRawShape {
  return typeof tool.input === 'function' ? tool.input(config) : tool.input;
}

/** What tools/list says of one tool, as a client receives it. */
export function toolListEntry(tool: ToolDefinition, config: Config): Record<string, unknown> {
  // The client pays for tools/list on every turn: `$schema` (draft-07 is the default anyway) would add ~13
  // tokens to every tool.
  const { $schema: _, ...inputSchema } = withoutNoise(
    z.toJSONSchema(z.object(inputShape(tool, config)), { target: 'draft-7', io: 'input' }),
  );
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema,
    annotations: {
      title: tool.title,
      ...(tool.adminAnnotations && adminActionsOn(config) ? tool.adminAnnotations : tool.annotations),
    },
    // Claude Code asks the human before every call of a tool marked so, whatever its permission mode.
    ...(tool.movesMoney ? { _meta: { 'anthropic/requiresUserInteraction': true } } : {}),
  };
}

/**
 * What zod adds that tells a model nothing: the safe-integer bound of every `.int()` (a JSON number has no other
 * limit a model would reach) and `propertyNames: {type: "string"}` of a record (JSON keys are strings). ~60 tokens
 * of the default list; the arguments are still checked against the zod schema itself.
 */
function withoutNoise<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(withoutNoise) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  const kept = Object.entries(schema).filter(
    ([key, value]) =>
      !(key === 'maximum' && value === Number.MAX_SAFE_INTEGER) &&
      !(key === 'minimum' && value === Number.MIN_SAFE_INTEGER) &&
      !(key === 'propertyNames' && JSON.stringify(value) === '{"type":"string"}'),
  );
  return Object.fromEntries(kept.map(([key, value]) => [key, withoutNoise(value)])) as T;
}

/**
 * Checks a call's arguments against the tool's schema: the parsed arguments, or a message naming each bad
 * parameter. A schema is built on its tool's first call, once per server.
 */
export function argumentChecker(config: Config) {
  const schemas = new Map<string, z.ZodObject>();
  return (
    tool: ToolDefinition,
    args: unknown,
  ): { ok: true; args: Record<string, unknown> } | { ok: false; problem: string } => {
    let schema = schemas.get(tool.name);
    if (!schema) schemas.set(tool.name, (schema = z.object(inputShape(tool, config))));
    const parsed = schema.safeParse(args ?? {});
    return parsed.success
      ? { ok: true, args: parsed.data }
      : { ok: false, problem: z.prettifyError(parsed.error) };
  };
}
