import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  McpError,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { Prompts } from '../prompts/index.js';
import * as z from 'zod';
import type { ToolDefinition } from '../tools/define.js';
import { TOOLS } from '../tools/index.js';
import type { ServerServices, ToolContext, ToolOutput } from './context.js';
import { formatError } from './error-format.js';
import { loadUndici } from './http/undici.js';
import { LazyJsonSchemaValidator } from './json-schema-validator.js';
import type { Logger } from './log.js';
import { createMedia } from './media/index.js';
import { createProgressReporter } from './progress.js';
import { redact, redactStrings } from './redact.js';
import type { Consent } from './spend/index.js';
import { prebuiltToolList } from './tool-list.js';
import { inputShape, selectTools } from './tool-selection.js';
import { VERSION } from './version.js';

const INSTRUCTIONS =
  'atelier-mcp generates images (generate_image) and saves them as files in the project; results give absolute ' +
  'paths, the job id, the cost, a small preview and an atelier://generations/{id} resource that re-reads the saved ' +
  'files later without generating again. Check costs with list_models or get_pricing before large ' +
  'batches. If a result says STILL RUNNING, call get_generation with its id instead of generating again. ' +
  'Errors end with a "Next:" line that says what to do.';

/** The one module that touches the MCP SDK server: registers our tools and prompts and adapts results. */
export function createServer(services: ServerServices, tools: ToolDefinition[] = TOOLS): McpServer {
  const validator = new LazyJsonSchemaValidator();
  const server = new McpServer(
    { name: 'atelier-mcp', version: VERSION },
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS, jsonSchemaValidator: validator },
  );
  const elicit = server.server.elicitInput.bind(server.server);
  server.server.elicitInput = async (...args) => {
    await validator.load();
    return elicit(...args);
  };
  // Nothing a tool call alone needs loads before `initialize` is answered; what the first call needs starts
  // loading as soon as the client says it is initialized, so that call does not wait for it either.
  server.server.oninitialized = () => {
    loadUndici().catch((error: unknown) =>
      services.log.warn(`warm-up: could not load undici: ${String(error)}`),
    );
  };
  const media = createMedia({
    config: services.config,
    log: services.log,
    roots: async () => {
      if (!server.server.getClientCapabilities()?.roots) return [];
      const { roots } = await server.server.listRoots();
      return roots.map((r) => r.uri);
    },
  });

  const selected = selectTools(tools, services.config);
  for (const tool of selected) {
    const registered = server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        // The client pays for tools/list on every turn: `$schema` (draft-07 is the default anyway) would add
        // ~13 tokens to every tool. A meta value of undefined overrides it and drops out of the JSON.
        inputSchema: z.object(inputShape(tool, services.config)).meta({ $schema: undefined }),
        annotations: { title: tool.title, ...tool.annotations },
      },
      async (args, extra): Promise<CallToolResult> => {
        const token = extra._meta?.progressToken;
        const progress = createProgressReporter(
          token === undefined
            ? undefined
            : {
                signal: extra.signal,
                send: (params) =>
                  extra.sendNotification({
                    method: 'notifications/progress',
                    params: { progressToken: token, ...params, message: redact(params.message) },
                  }),
              },
        );
        const confirm = createConsent(server, extra.requestId, extra.signal);
        const ctx: ToolContext = {
          ...services,
          media,
          signal: extra.signal,
          progress: (m, opts) => progress.report(m, opts?.etaSeconds),
          confirm,
          spend: services.spendBook.withConsent(confirm),
        };
        const started = Date.now();
        try {
          const output = await tool.run(args as never, ctx);
          services.log.debug(`${tool.name} ok in ${Date.now() - started} ms`);
          return toResult(output);
        } catch (error) {
          services.log.info(
            `${tool.name} failed in ${Date.now() - started} ms: ${(error as Error)?.message ?? error}`,
          );
          return { isError: true, content: [{ type: 'text', text: formatError(error, services.log) }] };
        } finally {
          progress.stop();
        }
      },
    );
    // `taskSupport: forbidden` is what an absent `execution` means; listing it costs ~10 tokens per tool.
    registered.execution = undefined;
  }
  // The bin answers tools/list from what the build computed through the SDK's own handler (src/tool-list.ts);
  // source runs and custom tool lists keep that handler.
  const prebuilt = tools === TOOLS ? prebuiltToolList(selected, services.config) : undefined;
  if (prebuilt) server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: prebuilt() }));

  servePrompts(server, services);
  serveGenerations(server, services);
  return server;
}

/**
 * Elicitation, tied to the tool call that needs it. A client that declares `elicitation` (an empty object
 * means form) gets a form; `elicitation.url` also lets us hand it a payment page to open.
 */
function createConsent(server: McpServer, requestId: string | number, signal: AbortSignal): Consent {
  const capability = () =>
    server.server.getClientCapabilities()?.elicitation as { form?: object; url?: object } | undefined;
  const options = { relatedRequestId: requestId, signal, timeout: CONSENT_TIMEOUT_MS };
  return {
    canAsk: () => {
      const c = capability();
      return c !== undefined && (c.form !== undefined || c.url === undefined);
    },
    async ask(message) {
      const result = await server.server.elicitInput(
        {
          mode: 'form',
          message: redact(message),
          requestedSchema: {
            type: 'object',
            properties: {
              approve: { type: 'boolean', title: 'Approve this charge', default: false },
            },
            required: ['approve'],
          },
        },
        options,
      );
      // Accepting the form without ticking the box is not consent.
      if (result.action === 'accept') return result.content?.approve === true ? 'accept' : 'decline';
      return result.action;
    },
    canOpenUrl: () => capability()?.url !== undefined,
    async openUrl(message, url) {
      const result = await server.server.elicitInput(
        { mode: 'url', message: redact(message), url, elicitationId: randomUUID() },
        options,
      );
      return result.action;
    },
  };
}

/** A human reading a charge and deciding may take a while; the SDK's 60 s default would cut them off. */
const CONSENT_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * Prompts are served by our own handlers rather than registerPrompt: the catalog (built-ins plus the user's folder)
 * loads on the first prompts request, never before `initialize` is answered, and is re-read so that a new template
 * appears without a restart. Bad arguments are a JSON-RPC error naming them, as the spec asks.
 */
function servePrompts(server: McpServer, services: ServerServices): void {
  let loaded: Promise<Prompts> | undefined;
  const prompts = () =>
    (loaded ??= import('../prompts/index.js').then((m) =>
      m.createPrompts({ home: services.config.home, log: services.log }),
    ));
  server.server.registerCapabilities({ prompts: {}, completions: {} });
  server.server.setRequestHandler(ListPromptsRequestSchema, async () => ({
    prompts: await (await prompts()).list(),
  }));
  server.server.setRequestHandler(GetPromptRequestSchema, async ({ params }) => {
    let prompt;
    try {
      prompt = await (await prompts()).get(params.name, params.arguments ?? {});
    } catch (error) {
      throw new McpError(ErrorCode.InvalidParams, formatError(error, services.log));
    }
    if (!prompt) {
      const names = (await (await prompts()).list()).map((p) => p.name);
      throw new McpError(
        ErrorCode.InvalidParams,
        `No prompt named ${params.name}. Prompts: ${names.join(', ')}.`,
      );
    }
    return {
      description: prompt.description,
      messages: [{ role: 'user' as const, content: { type: 'text' as const, text: prompt.text } }],
    };
  });
  server.server.setRequestHandler(CompleteRequestSchema, async ({ params }) => {
    const { ref, argument } = params;
    const values =
      ref.type === 'ref/prompt'
        ? await (await prompts()).complete(ref.name, argument.name, argument.value, params.context?.arguments)
        : await (
            await import('./generations/resources.js')
          ).completeGenerationKey(services.generations, ref.uri, argument.value);
    return { completion: { values, total: values.length, hasMore: false } };
  });
}

/**
 * Saved generations as resources (atelier://generations/{id}). Own handlers, like prompts, so that the list pages
 * with a cursor and the index is read on the first request, not at start. A new save tells the client the list
 * changed.
 */
function serveGenerations(server: McpServer, services: ServerServices): void {
  const resources = () => import('./generations/resources.js');
  server.server.registerCapabilities({ resources: { listChanged: true } });
  services.generations.onRecord(() => server.sendResourceListChanged());
  server.server.setRequestHandler(ListResourcesRequestSchema, async ({ params }) => {
    try {
      // Titles, descriptions and _meta quote the provider (model names) and the prompt.
      const page = await (await resources()).listGenerationResources(services.generations, params?.cursor);
      return redactStrings(page, KEEP_AS_IS);
    } catch (error) {
      throw new McpError(ErrorCode.InvalidParams, formatError(error, services.log));
    }
  });
  server.server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [
      {
        uriTemplate: (await resources()).GENERATION_URI_TEMPLATE,
        name: 'generation',
        title: 'A saved generation',
        description:
          'The image files one generation job saved, as image/* blobs. {id} is <provider>-<job id>, e.g. ' +
          'pixelmuse-img_abc123; generate_image and get_generation results carry the full URI.',
      },
    ],
  }));
  server.server.setRequestHandler(ReadResourceRequestSchema, async ({ params }) => {
    const module = await resources();
    try {
      return await module.readGeneration(services.generations, params.uri);
    } catch (error) {
      // -32002 is the spec's "resource not found".
      const code = error instanceof module.ResourceNotFound ? -32002 : ErrorCode.InternalError;
      throw new McpError(code, formatError(error, services.log));
    }
  });
}

/** Success text carries provider words too (a model name, a failed sibling job's error, output URLs): redact it all. */
function toResult(output: ToolOutput): CallToolResult {
  const blocks = typeof output === 'string' ? [{ type: 'text' as const, text: output }] : output;
  return { content: blocks.map((b) => (b.type === 'image' ? b : redactStrings(b, KEEP_AS_IS))) };
}

/** Identifiers that must resolve exactly as they are; everything else a client is sent is redacted. */
const KEEP_AS_IS = (key: string) =>
  key === 'uri' || key === 'type' || key === 'mimeType' || key === 'nextCursor';

/** Serve over stdio until the client goes away; stdout carries nothing but JSON-RPC from here on. */
export async function serveStdio(
  server: McpServer,
  log: Logger,
  onClose: () => Promise<void>,
): Promise<void> {
  const { StdioTransport } = await import('./stdio-transport.js');
  const transport = new StdioTransport();
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await server.close().catch(() => {});
    await onClose();
  };
  // Transport and protocol errors (an oversize or malformed message, a broken pipe) end nothing but are logged.
  server.server.onerror = (error) => log.warn(`transport: ${error.message}`);
  transport.onclose = () => void close();
  process.stdin.once('end', () => void close());
  process.once('SIGINT', () => void close());
  process.once('SIGTERM', () => void close());
  await server.connect(transport);
}

/** The tools/list answer a client would get, for `atelier-mcp tools` and the schema snapshots. */
export async function listToolsAsClient(services: ServerServices): Promise<Array<Record<string, unknown>>> {
  const [{ Client }, { InMemoryTransport }] = await Promise.all([
    import('@modelcontextprotocol/sdk/client/index.js'),
    import('@modelcontextprotocol/sdk/inMemory.js'),
  ]);
  const server = createServer(services);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'atelier-mcp-tools', version: VERSION });
  await Promise.all([server.connect(a), client.connect(b)]);
  try {
    return (await client.listTools()).tools as Array<Record<string, unknown>>;
  } finally {
    await client.close();
    await server.close();
  }
}
