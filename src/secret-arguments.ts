import type { ToolContext } from './context.js';
import { UserInputError } from './errors.js';

/**
 * A secret given as an argument (a card, a password) has already passed through the conversation and the model
 * provider. A client that can open a local page for the human gets it refused, so that the next call leaves it
 * out; a headless client (no `elicitation.url`) has it used, and the result says where it went.
 */
export function secretArgument(ctx: Pick<ToolContext, 'pages'>, tool: string, what: string): string {
  if (ctx.pages.canOpenUrl()) {
    throw new UserInputError(`${what} was passed as an argument; it was not used.`, {
      facts: [
        'This client can open a local page for it, so it need not go through the conversation and the model provider.',
      ],
      next: `Call ${tool} again without it: the human types ${what} into a one-time page that atelier-mcp serves on this computer.`,
    });
  }
  return (
    `Note: ${what} passed through this conversation as an argument, so the model provider saw it. With a client ` +
    'that can open URLs (MCP elicitation "url", e.g. Claude Code) leave it out: the human types it into a local page.'
  );
}
