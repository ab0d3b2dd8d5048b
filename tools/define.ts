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
  /**
   * The annotations tools/list shows when the `admin` toolset adds actions to this tool (an update to a tool that
   * only reads otherwise; see adminActionsOn in src/tool-selection.ts, never under `--read-only`).
   */
  adminAnnotations?: ToolAnnotations;
  /**
   * The tool moves money (funds, subscribes, changes a plan, saves a card, opens a payment link): tools/list marks
   * it so that the client asks the human before every call, even in a bypass mode. Not generate_image, which
   * quotes or asks for each charge itself and is called far too often for a prompt each time.
   */
  movesMoney?: true;
  run(args: z.infer<z.ZodObject<S>>, ctx: ToolContext): Promise<ToolOutput>;
}

/**
 * What selecting and listing a tool needs, without its schema or handler: the bin has these from the build
 * (src/mcp/tool-list.ts) and loads the tool modules only after `initialize` is answered.
 */
export type ToolSummary = Pick<ToolDefinition, 'name' | 'toolset' | 'providers'> & {
  annotations: Pick<ToolAnnotations, 'readOnlyHint'>;
};

/** Identity: exists so that each tool file is type-checked against the contract. */
export function defineTool<S extends z.ZodRawShape>(tool: ToolDefinition<S>): ToolDefinition<S> {
  return tool;
}
