// Bundled and run by scripts/build.mjs: every tool's tools/list entry, for every providers/default-provider
// combination, as the server computes them from the source (src/mcp/server.ts, src/mcp/tool-schema.ts), so the prebuilt
// answer the bin serves is byte for byte what it would compute; and the summary of each tool that selecting them needs.
import { loadConfig, PROVIDERS, TOOLSETS, type Config, type Provider } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { createServer, INITIALIZE_ANSWER, setupWith } from '../src/mcp/server.js';
import { createServices } from '../src/services.js';
import { TOOLS } from '../tools/index.js';
import { variantKey, type ToolListTable, type ToolListVariant } from '../src/mcp/tool-list.js';

const ALLOWED = new Set<string>(['providers', 'defaultProvider', 'toolsets', 'readOnly']);

function orderings(items: readonly Provider[]): Provider[][] {
  if (items.length === 0) return [[]];
  return items.flatMap((first, i) =>
    orderings(items.filter((_, j) => j !== i)).map((rest) => [first, ...rest]),
  );
}

/** Every non-empty --providers list, in every order (a z.enum keeps the order it was given). */
function providerLists(): Provider[][] {
  const lists: Provider[][] = [];
  for (let mask = 1; mask < 1 << PROVIDERS.length; mask++) {
    lists.push(...orderings(PROVIDERS.filter((_, i) => mask & (1 << i))));
  }
  return lists;
}

export async function buildToolList(home: string): Promise<ToolListTable> {
  const base = loadConfig({ toolsets: TOOLSETS.join(',') }, { ATELIER_HOME: home }, home);
  const withoutAdmin = base.toolsets.filter((t) => t !== 'admin');
  // A tool whose input read any other setting would make the prebuilt answer wrong for some users.
  for (const tool of TOOLS) {
    if (typeof tool.input !== 'function') continue;
    tool.input(
      new Proxy(base, {
        get(target, prop) {
          if (typeof prop === 'string' && !ALLOWED.has(prop)) {
            throw new Error(
              `${tool.name}: input reads config.${prop}; src/mcp/tool-list.ts keys only ${[...ALLOWED]}`,
            );
          }
          return target[prop as keyof Config];
        },
      }),
    );
  }
  const table: ToolListTable = {
    initialize: {
      versions: INITIALIZE_ANSWER.versions,
      result: {},
    },
    tools: TOOLS.map((t) => ({
      name: t.name,
      toolset: t.toolset,
      providers: t.providers,
      annotations: { readOnlyHint: t.annotations.readOnlyHint },
    })),
    entries: [],
    index: {},
  };
  const seen = new Map<string, number>();
  const answers = new Set<string>();
  for (const providers of providerLists()) {
    for (const [defaultProvider, toolsets] of PROVIDERS.flatMap(
      (p) =>
        [
          [p, base.toolsets],
          [p, withoutAdmin],
        ] as const,
    )) {
      const variant: ToolListVariant = { providers, defaultProvider, toolsets };
      const config: Config = { ...base, ...variant };
      const { initialize, tools: listed } = await rawAnswers(config);
      const { protocolVersion: _, ...result } = initialize;
      // No setting may change the initialize answer: the bin sends one for every configuration.
      answers.add(JSON.stringify(result));
      if (answers.size > 1) {
        throw new Error(`the initialize answer depends on the config: ${JSON.stringify(variant)}`);
      }
      table.initialize.result = result;
      for (const entry of listed) {
        const json = JSON.stringify(entry);
        let i = seen.get(json);
        if (i === undefined) {
          i = table.entries.push(json) - 1;
          seen.set(json, i);
        }
        (table.index[String(entry.name)] ??= {})[variantKey(variant)] = i;
      }
    }
  }
  return table;
}

/** The tools array exactly as the server sends it (not as a client re-parses it). */
export async function rawToolsList(config: Config): Promise<Array<Record<string, unknown>>> {
  return (await rawAnswers(config)).tools;
}

/** The server's answers to initialize and tools/list, exactly as it sends them. */
export async function rawAnswers(config: Config): Promise<{
  initialize: Record<string, unknown>;
  tools: Array<Record<string, unknown>>;
}> {
  const server = createServer(
    setupWith(createServices(config, silentLogger, { env: {}, memory: {} }), TOOLS),
  );
  const [ours, theirs] = InMemoryTransport.createLinkedPair();
  const waiting = new Map<number, (m: JSONRPCMessage) => void>();
  theirs.onmessage = (m) => {
    if ('id' in m && typeof m.id === 'number') waiting.get(m.id)?.(m);
  };
  await server.connect(ours);
  await theirs.start();
  const ask = (id: number, method: string, params: Record<string, unknown>) =>
    new Promise<JSONRPCMessage>((resolve) => {
      waiting.set(id, resolve);
      void theirs.send({ jsonrpc: '2.0', id, method, params });
    });
  try {
    const initialize = (await ask(1, 'initialize', {
      protocolVersion: LATEST_PROTOCOL_VERSION,
      capabilities: {},
      clientInfo: { name: 'atelier-mcp-build', version: '0' },
    })) as { result?: Record<string, unknown> };
    const answer = (await ask(2, 'tools/list', {})) as { result?: { tools: Array<Record<string, unknown>> } };
    if (!initialize.result || !answer.result) {
      throw new Error(`initialize or tools/list failed: ${JSON.stringify([initialize, answer])}`);
    }
    return { initialize: initialize.result, tools: answer.result.tools };
  } finally {
    await server.close();
  }
}
