import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolRequest,
  CallToolResult,
  ServerNotification,
  ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { ToolDefinition } from '../../tools/define.js';
import type { OpenSecretPage, SecretPages, ServerServices, ToolContext, ToolOutput } from '../context.js';
import { formatError } from '../error-format.js';
import { UserInputError } from '../errors.js';
import { createMedia } from '../media/index.js';
import { createProgressReporter } from '../progress.js';
import { holdSecret, KEEP_AS_IS, redact, redactStrings } from '../redact.js';
import { argsDigest } from '../spend/idempotency.js';
import type { Consent } from '../spend/index.js';
import { modernRequest } from './modern.js';
import { modernConsent, modernPages, modernRoots, type ModernCall } from './modern-call.js';
import { isInputRequired, requestStates, type InputRequired } from './round-trip.js';
import { becomesTask, type TaskStore } from './tasks.js';
import { argumentChecker, inputShape } from './tool-schema.js';

// tools/call, loaded with the tools after `initialize` is answered (src/mcp/server.ts): checks the arguments, gives the
// handler its narrow context (never the SDK) and turns what it returns or throws into the result.

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** tools/call's params; a 2026-07-28 retry of an `input_required` answer adds the last two. */
type CallParams = CallToolRequest['params'] & {
  inputResponses?: Record<string, unknown>;
  requestState?: string;
};

export type ToolRunner = (params: CallParams, extra: Extra) => Promise<CallToolResult>;

export function createToolRunner(
  server: Server,
  services: ServerServices,
  tools: ToolDefinition[],
  tasks: TaskStore,
): ToolRunner {
  const { config, log } = services;
  const byName = new Map(tools.map((t) => [t.name, t]));
  const check = argumentChecker(config);
  const states = requestStates();
  // A 2026-07-28 call asks for roots by round trip; the output folder, once chosen, serves every later call.
  const modernRootsOfCall = new AsyncLocalStorage<() => Promise<string[]>>();
  const media = createMedia({
    config,
    log,
    roots: async () => {
      const modern = modernRootsOfCall.getStore();
      if (modern) return modern();
      if (!server.getClientCapabilities()?.roots) return [];
      const { roots } = await server.listRoots();
      return roots.map((r) => r.uri);
    },
  });
  const fail = (error: unknown): CallToolResult => ({
    isError: true,
    content: [{ type: 'text', text: formatError(error, log) }],
  });
  // One-time secret pages whose link went into a result; they close with the server.
  const openPages = new Map<string, OpenSecretPage>();
  const onclose = server.onclose;
  server.onclose = () => {
    onclose?.();
    for (const page of openPages.values()) void page.close();
    openPages.clear();
  };

  /** One call; `task` when it runs as a task (2026-07-28 tasks extension): its progress becomes the task's status. */
  const call = async (
    params: CallParams,
    extra: Extra,
    task?: { status(message: string): void },
  ): Promise<CallToolResult> => {
    const tool = byName.get(params.name);
    if (!tool) {
      return fail(
        new UserInputError(`No tool named ${params.name} on this server.`, {
          next: 'Call a tool that tools/list shows; --toolsets, --providers and --read-only decide which are offered.',
        }),
      );
    }
    // A secret passed as an argument has been through the conversation already: from here on it is masked.
    holdSecretArguments(params.arguments);
    const stray = straySecretArguments(tool, config, params.arguments);
    if (stray.length > 0) {
      return fail(
        new UserInputError(
          `${tool.name} takes no ${stray.join(' or ')} argument; it was not used. A secret passed as an argument ` +
            'goes through the conversation and the model provider.',
          {
            next:
              `Call ${tool.name} again without it. Keys are typed into a local page (pixelmuse_login, ` +
              'modelslab_login with method "api_key"), set in the MCP client\'s env, or stored with `npx atelier-mcp login`.',
          },
        ),
      );
    }
    const checked = check(tool, params.arguments);
    if (!checked.ok) {
      return fail(
        new UserInputError(`Invalid arguments for ${tool.name}:\n${checked.problem}`, {
          next: `Call ${tool.name} again with arguments that match its input schema in tools/list.`,
        }),
      );
    }
    const era = modernRequest(extra._meta);
    if (era && !task && becomesTask(tool.name, era.capabilities)) {
      // The request ends now; the work goes on with a signal of its own and no progress token.
      const _meta = { ...extra._meta, progressToken: undefined };
      return tasks.create((retry, signal, status) =>
        call({ ...params, ...retry }, { ...extra, signal, _meta }, { status }),
      ) as CallToolResult;
    }
    const token = extra._meta?.progressToken;
    const progress = createProgressReporter(
      token === undefined
        ? undefined
        : {
            signal: extra.signal,
            send: (p) =>
              extra.sendNotification({
                method: 'notifications/progress',
                params: { progressToken: token, ...p, message: redact(p.message) },
              }),
          },
    );
    let modern: ModernCall | undefined;
    if (era) {
      modern = {
        tool: tool.name,
        args: argsDigest(`tools/call ${tool.name}`, params.arguments ?? {}),
        capabilities: era.capabilities,
        states,
      };
      if (params.requestState !== undefined) {
        try {
          modern.retry = {
            claims: states.redeem(params.requestState, modern),
            responses: params.inputResponses ?? {},
          };
        } catch (error) {
          return fail(error);
        }
      }
    }
    const confirm = modern
      ? modernConsent(modern, approvalForm)
      : createConsent(server, extra.requestId, extra.signal);
    const ctx: ToolContext = {
      ...services,
      media,
      signal: extra.signal,
      progress: (m, opts) => {
        task?.status(redact(m));
        progress.report(m, opts?.etaSeconds, opts?.milestone);
      },
      confirm,
      pages: modern
        ? modernPages(modern, openPages)
        : createSecretPages(server, extra.requestId, extra.signal, openPages),
      spend: services.spendBook.withConsent(confirm),
    };
    const started = Date.now();
    try {
      const run = () => tool.run(checked.args as never, ctx);
      const asked = modern;
      const output = await (asked ? modernRootsOfCall.run(() => modernRoots(asked), run) : run());
      log.debug(`${tool.name} ok in ${Date.now() - started} ms`);
      return toResult(output);
    } catch (error) {
      if (isInputRequired(error)) {
        log.debug(`${tool.name} needs input from the client: ${Object.keys(error.inputRequests).join(', ')}`);
        return inputRequired(error);
      }
      log.info(`${tool.name} failed in ${Date.now() - started} ms: ${(error as Error)?.message ?? error}`);
      return fail(error);
    } finally {
      progress.stop();
    }
  };
  return (params, extra) => call(params, extra);
}

/**
 * Elicitation, tied to the tool call that needs it. A client that declares `elicitation` (an empty object
 * means form) gets a form; `elicitation.url` also lets us hand it a payment page to open.
 */
function createConsent(server: Server, requestId: string | number, signal: AbortSignal): Consent {
  const capability = () =>
    server.getClientCapabilities()?.elicitation as { form?: object; url?: object } | undefined;
  const options = { relatedRequestId: requestId, signal, timeout: CONSENT_TIMEOUT_MS };
  return {
    canAsk: () => {
      const c = capability();
      return c !== undefined && (c.form !== undefined || c.url === undefined);
    },
    async ask(message) {
      const result = await server.elicitInput(approvalForm(message), options);
      // Accepting the form without ticking the box is not consent.
      if (result.action === 'accept') return result.content?.approve === true ? 'accept' : 'decline';
      return result.action;
    },
    canOpenUrl: () => capability()?.url !== undefined,
    async openUrl(message, url) {
      const result = await server.elicitInput(
        { mode: 'url', message: redact(message), url, elicitationId: randomUUID() },
        options,
      );
      return result.action;
    },
  };
}

/** The form that asks the human to approve a charge: one box to tick. */
function approvalForm(message: string) {
  return {
    mode: 'form' as const,
    message: redact(message),
    requestedSchema: {
      type: 'object' as const,
      properties: {
        approve: { type: 'boolean' as const, title: 'Approve this charge', default: false },
      },
      required: ['approve'],
    },
  };
}

/** The answer that ends a 2026-07-28 call waiting for the client; src/mcp/modern.ts keeps content out of it. */
function inputRequired(error: InputRequired): CallToolResult {
  const result = {
    resultType: 'input_required',
    inputRequests: error.inputRequests,
    requestState: error.requestState,
    content: [],
  };
  return result as CallToolResult;
}

/**
 * URL-mode elicitation for the one-time secret pages (src/entry/): the client shows the human the link and opens
 * it with their consent; `complete()` sends notifications/elicitation/complete once the page is done.
 */
function createSecretPages(
  server: Server,
  requestId: string | number,
  signal: AbortSignal,
  open: Map<string, OpenSecretPage>,
): SecretPages {
  return {
    canOpenUrl: () =>
      (server.getClientCapabilities()?.elicitation as { url?: object } | undefined)?.url !== undefined,
    async openUrl(message, url) {
      const elicitationId = randomUUID();
      const result = await server.elicitInput(
        { mode: 'url', message: redact(message), url, elicitationId },
        { relatedRequestId: requestId, signal, timeout: CONSENT_TIMEOUT_MS },
      );
      const notify = server.createElicitationCompletionNotifier(elicitationId, {
        relatedRequestId: requestId,
      });
      return { answer: result.action, complete: () => notify().catch(() => {}) };
    },
    open,
  };
}

/** Argument names whose values are secrets wherever they appear (a card's number and CVC included). */
const SECRET_ARGUMENT =
  /^(?:password|password_confirmation|current_password|passwd|api_?key|key|secret|token|access_token|cvc|cvv|csc|verification_code)$/i;

/** Holds every secret-named value of the arguments (src/redact.ts): echoes of it are masked from now on. */
function holdSecretArguments(args: unknown, parent = ''): void {
  if (args === null || typeof args !== 'object') return;
  for (const [name, value] of Object.entries(args)) {
    if (typeof value === 'string') {
      if (parent === 'card' && name === 'number') holdSecret(value, 'card');
      else if (SECRET_ARGUMENT.test(name)) holdSecret(value);
    } else {
      holdSecretArguments(value, name);
    }
  }
}

/** Secret-named arguments the tool does not take (the schema would drop them silently): refused by name. */
function straySecretArguments(
  tool: ToolDefinition,
  config: ServerServices['config'],
  args: unknown,
): string[] {
  if (args === null || typeof args !== 'object') return [];
  const known = inputShape(tool, config);
  return Object.keys(args).filter(
    (name) => !(name in known) && (SECRET_ARGUMENT.test(name) || name === 'card'),
  );
}

/** A human reading a charge and deciding may take a while; the SDK's 60 s default would cut them off. */
const CONSENT_TIMEOUT_MS = 10 * 60 * 1000;

/** Success text carries provider words too (a model name, a failed sibling job's error, output URLs): redact it all. */
function toResult(output: ToolOutput): CallToolResult {
  const blocks = typeof output === 'string' ? [{ type: 'text' as const, text: output }] : output;
  return { content: blocks.map((b) => (b.type === 'image' ? b : redactStrings(b, KEEP_AS_IS))) };
}
