import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  McpError,
  LATEST_PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import type { Prompts } from '../../prompts/index.js';
import type { ToolDefinition, ToolSummary } from '../../tools/define.js';
import type { Config } from '../config.js';
import type { ServerServices } from '../context.js';
import { formatError } from '../error-format.js';
import { loadUndici } from '../http/undici.js';
import { LazyJsonSchemaValidator } from './json-schema-validator.js';
import type { Logger } from '../log.js';
import { KEEP_AS_IS, redactStrings } from '../redact.js';
import type { InitializeAnswer } from './early-answers.js';
import { discoverResult } from './modern.js';
import { createTaskStore, TaskNotFound, type TaskStore } from './tasks.js';
import type { StdioTransport } from './stdio-transport.js';
import type { ToolRunner } from './tool-call.js';
import { prebuiltToolList, type ToolListTable } from './tool-list.js';
import { selectTools } from '../tool-selection.js';
import { VERSION } from '../version.js';
import { readableError } from '../zod-issues.js';

const INSTRUCTIONS =
  'atelier-mcp generates images (generate_image) and saves them as files in the project; results give absolute ' +
  'paths, the job id, the cost, a small preview and an atelier://generations/{id} resource that re-reads the saved ' +
  'files later without generating again. Check costs with list_models or get_pricing before large ' +
  'batches. If a result says STILL RUNNING, call get_generation with its id instead of generating again. ' +
  'Errors end with a "Next:" line that says what to do.';

const SERVER_INFO = { name: 'atelier-mcp', version: VERSION };
const CAPABILITIES = { tools: {}, prompts: {}, completions: {}, resources: { listChanged: true } };

/** What this server answers to `initialize`, whatever the request (the build's table holds the same). */
export const INITIALIZE_ANSWER: InitializeAnswer = {
  versions: [
    LATEST_PROTOCOL_VERSION,
    ...SUPPORTED_PROTOCOL_VERSIONS.filter((v) => v !== LATEST_PROTOCOL_VERSION),
  ],
  result: { capabilities: CAPABILITIES, serverInfo: SERVER_INFO, instructions: INSTRUCTIONS },
};

const DiscoverRequestSchema = z.object({
  method: z.literal('server/discover'),
  params: z.looseObject({}).optional(),
});

/** tools/call as the 2026-07-28 era sends it: the retry of an `input_required` answer carries these two. */
const CallToolRetrySchema = CallToolRequestSchema.extend({
  params: CallToolRequestSchema.shape.params.extend({
    inputResponses: z.record(z.string(), z.unknown()).optional(),
    requestState: z.string().optional(),
  }),
});

/** What tool calls and resource reads need. */
export interface ServerParts {
  services: ServerServices;
  tools: ToolDefinition[];
}

export interface ServerSetup {
  config: Config;
  log: Logger;
  /** Every tool, or the build's summary of each (src/mcp/tool-list.ts): what selecting them for this config needs. */
  tools: readonly ToolSummary[];
  /** The build's tools/list answers; without them the list is computed from the loaded tools. */
  table?: ToolListTable;
  /**
   * Builds the services and loads the tools. Called once: right after `initialize` is answered, or by the
   * first request that needs it; a failure is reported to that request and tried again by the next.
   */
  load(): Promise<ServerParts>;
}

/** A setup for services and tools that already exist (tests, CLI commands). */
export function setupWith(services: ServerServices, tools: ToolDefinition[]): ServerSetup {
  return {
    config: services.config,
    log: services.log,
    tools,
    load: () => Promise.resolve({ services, tools }),
  };
}

/**
 * The one module that touches the MCP SDK server. It answers `initialize` and `tools/list` with nothing but the
 * config and the tools' summaries loaded: the tool modules, their services and everything a call needs start
 * loading once the client says it is initialized (a warm-up, so that the first call does not wait for them).
 */
export function createServer(setup: ServerSetup): Server {
  const { config, log } = setup;
  const selected = selectTools(setup.tools, config);
  const validator = new LazyJsonSchemaValidator();
  const server = new Server(SERVER_INFO, {
    capabilities: CAPABILITIES,
    instructions: INSTRUCTIONS,
    jsonSchemaValidator: validator,
  });
  const elicit = server.elicitInput.bind(server);
  server.elicitInput = async (...args) => {
    await validator.load();
    return elicit(...args);
  };

  const parts = retrying(async () => {
    const loaded = await setup.load();
    // Only a 2025-era session (one that sent `initialize`) takes unsolicited notifications on stdio.
    const listChanged = () => {
      if (server.getClientCapabilities()) void server.sendResourceListChanged();
    };
    loaded.services.generations.onRecord(listChanged);
    loaded.services.trainings.onSave(listChanged);
    const byName = new Map(loaded.tools.map((t) => [t.name, t]));
    // The selection made from the summaries, in their order, as the loaded definitions.
    const tools = selected.map((s) => byName.get(s.name)).filter((t) => t !== undefined);
    return { services: loaded.services, tools };
  });
  const tasks = createTaskStore();
  serveTasks(server, tasks, log);
  const runner = retrying<ToolRunner>(async () => {
    const [{ services, tools }, { createToolRunner }] = await Promise.all([
      parts(),
      import('./tool-call.js'),
    ]);
    return createToolRunner(server, services, tools, tasks);
  });
  server.oninitialized = () => {
    Promise.all([loadUndici(), runner()]).catch((error: unknown) =>
      log.warn(`warm-up: ${formatError(error)}`),
    );
  };

  const prebuilt = setup.table && prebuiltToolList(selected, config, setup.table);
  server.setRequestHandler(ListToolsRequestSchema, async () => {
    if (prebuilt) return { tools: prebuilt() };
    const [{ tools }, { toolListEntry }] = await Promise.all([parts(), import('./tool-schema.js')]);
    return { tools: tools.map((t) => toolListEntry(t, config)) };
  });
  server.setRequestHandler(DiscoverRequestSchema, () => discoverResult(INITIALIZE_ANSWER));
  server.setRequestHandler(CallToolRetrySchema, async (request, extra) => {
    let run;
    try {
      run = await runner();
    } catch (error) {
      return { isError: true, content: [{ type: 'text', text: formatError(error, log) }] };
    }
    return run(request.params, extra);
  });
  servePrompts(server, setup, parts);
  serveGenerations(server, setup, parts);
  return server;
}

/**
 * tasks/get, tasks/update and tasks/cancel of the 2026-07-28 tasks extension (src/mcp/tasks.ts). The v1 SDK lets a
 * handler for a tasks/ method be set only by a server that declares its own 2025 tasks capability, which would
 * change what `initialize` answers: these methods are served from the fallback handler instead.
 */
function serveTasks(server: Server, tasks: TaskStore, log: Logger): void {
  const methods: Record<string, (params: Record<string, unknown>) => Record<string, unknown>> = {
    'tasks/get': (p) => tasks.get(String(p.taskId)),
    'tasks/update': (p) =>
      tasks.update(String(p.taskId), (p.inputResponses ?? {}) as Record<string, unknown>),
    'tasks/cancel': (p) => tasks.cancel(String(p.taskId)),
  };
  server.fallbackRequestHandler = (request) => {
    const serve = methods[request.method];
    if (!serve) return Promise.reject(new McpError(ErrorCode.MethodNotFound, 'Method not found'));
    const params = (request.params ?? {}) as Record<string, unknown>;
    if (typeof params.taskId !== 'string') {
      return Promise.reject(
        new McpError(ErrorCode.InvalidParams, `${request.method} needs a taskId string.`),
      );
    }
    try {
      return Promise.resolve(serve(params) as never);
    } catch (error) {
      if (error instanceof TaskNotFound)
        return Promise.reject(new McpError(ErrorCode.InvalidParams, error.message));
      log.warn(`${request.method}: ${formatError(error)}`);
      return Promise.reject(new McpError(ErrorCode.InternalError, formatError(error)));
    }
  };
}

/** Runs `load` once and shares its promise; a rejection is not kept, so the next caller tries again. */
function retrying<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}

/**
 * Prompts are served by our own handlers rather than registerPrompt: the catalog (built-ins plus the user's folder)
 * loads on the first prompts request, never before `initialize` is answered, and is re-read so that a new template
 * appears without a restart. Bad arguments are a JSON-RPC error naming them, as the spec asks.
 */
function servePrompts(server: Server, { config, log }: ServerSetup, parts: () => Promise<ServerParts>): void {
  let loaded: Promise<Prompts> | undefined;
  const prompts = () =>
    (loaded ??= import('../../prompts/index.js').then((m) => m.createPrompts({ home: config.home, log })));
  server.setRequestHandler(ListPromptsRequestSchema, async () => ({
    prompts: await (await prompts()).list(),
  }));
  server.setRequestHandler(GetPromptRequestSchema, async ({ params }) => {
    let prompt;
    try {
      prompt = await (await prompts()).get(params.name, params.arguments ?? {});
    } catch (error) {
      throw new McpError(ErrorCode.InvalidParams, formatError(error, log));
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
  server.setRequestHandler(CompleteRequestSchema, async ({ params }) => {
    const { ref, argument } = params;
    const values =
      ref.type === 'ref/prompt'
        ? await (await prompts()).complete(ref.name, argument.name, argument.value, params.context?.arguments)
        : await (
            await import('../history/resources.js')
          ).completeGenerationKey((await parts()).services.generations, ref.uri, argument.value);
    return { completion: { values, total: values.length, hasMore: false } };
  });
}

/**
 * Saved generations as resources (atelier://generations/{id}). Own handlers, like prompts, so that the list pages
 * with a cursor and the index is read on the first request, not at start. A new save tells the client the list
 * changed.
 */
function serveGenerations(server: Server, { log }: ServerSetup, parts: () => Promise<ServerParts>): void {
  const resources = () => import('../history/resources.js');
  const generations = async () => (await parts()).services.generations;
  const trainingResources = () => import('../history/training-resources.js');
  const trainings = async () => (await parts()).services.trainings;
  server.setRequestHandler(ListResourcesRequestSchema, async ({ params }) => {
    try {
      // Titles, descriptions and _meta quote the provider (model names) and the prompt.
      const page = await (await resources()).listGenerationResources(await generations(), params?.cursor);
      // Trainings are few: all of them head the first page.
      const trained =
        params?.cursor === undefined
          ? await (await trainingResources()).listTrainingResources(await trainings())
          : [];
      return redactStrings({ ...page, resources: [...trained, ...page.resources] }, KEEP_AS_IS);
    } catch (error) {
      throw new McpError(ErrorCode.InvalidParams, formatError(error, log));
    }
  });
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [
      {
        uriTemplate: (await resources()).GENERATION_URI_TEMPLATE,
        name: 'generation',
        title: 'A saved generation',
        description:
          'The image files one generation job saved, as image/* blobs. {id} is <provider>-<job id>, e.g. ' +
          'pixelmuse-img_abc123; generate_image and get_generation results carry the full URI.',
      },
      {
        uriTemplate: (await trainingResources()).TRAINING_URI_TEMPLATE,
        name: 'training',
        title: 'A ModelsLab LoRA training',
        description: 'Its last known status and the model id to generate with; {id} is the training id.',
      },
    ],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async ({ params }) => {
    const module = await resources();
    try {
      const trained = await trainingResources();
      if (trained.isTrainingUri(params.uri)) return await trained.readTraining(await trainings(), params.uri);
      return await module.readGeneration(await generations(), params.uri);
    } catch (error) {
      // -32002 is the spec's "resource not found".
      const code = error instanceof module.ResourceNotFound ? -32002 : ErrorCode.InternalError;
      throw new McpError(code, formatError(error, log));
    }
  });
}

/** Serve over stdio until the client goes away; stdout carries nothing but JSON-RPC from here on. */
export async function serveStdio(
  server: Server,
  transport: StdioTransport,
  log: Logger,
  onClose: () => Promise<void>,
): Promise<void> {
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await server.close().catch(() => {});
    await onClose();
  };
  // Transport and protocol errors (an oversize or malformed message, a broken pipe) end nothing but are logged.
  server.onerror = (error) => log.warn(`transport: ${readableError(error)}`);
  transport.onclose = () => void close();
  // stdin may have ended while the server was loading (transport.listen() started reading it).
  if (process.stdin.readableEnded) void close();
  else process.stdin.once('end', () => void close());
  process.once('SIGINT', () => void close());
  process.once('SIGTERM', () => void close());
  transport.speakModern(INITIALIZE_ANSWER);
  await server.connect(transport);
}
