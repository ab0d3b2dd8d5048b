import type * as z from 'zod';
import type { Config, Provider, Toolset } from '../src/config.js';
import type { ToolContext, ToolOutput } from '../src/context.js';

export type { ContentBlock, ToolContext, ToolOutput } from '../src/context.js';

/** All four are required: a tool's safety posture is never left to the SDK's defaults. */
export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface ToolDefinition<S extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  toolset: Toolset;
  /** The providers the tool works with; --providers hides it when none of them is enabled. */
  providers: Provider[];
  title: string;
  description: string;
  /** Built from the config so that parameters the config already fixes stay out of the schema. */
  input: S | ((config: Config) => S);
  annotations: ToolAnnotations;
  run(args: z.infer<z.ZodObject<S>>, ctx: ToolContext): Promise<ToolOutput>;
}

/** Identity: exists so that each tool file is type-checked against the contract. */
export function defineTool<S extends z.ZodRawShape>(tool: ToolDefinition<S>): ToolDefinition<S> {
  return tool;
}
