import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/log.js';
import type { CredentialName } from '../../src/credentials/index.js';
import {
  SANDBOX_MODELSLAB_KEY,
  SANDBOX_MODELSLAB_TOKEN,
  SANDBOX_PIXELMUSE_KEY,
  startModelslabEmulator,
  startPixelmuseEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type ModelslabEmulatorOptions,
  type PixelmuseEmulator,
  type PixelmuseEmulatorOptions,
  type StripeEmulator,
} from '../../src/sandbox/index.js';
import { createServer, setupWith } from '../../src/mcp/server.js';
import { createServices } from '../../src/services.js';
import { startLossyProxy, type LossyProxy } from './lossy-proxy.js';
import { TOOLS } from '../../tools/index.js';

export interface HarnessOptions {
  emulator?: PixelmuseEmulatorOptions;
  modelslab?: ModelslabEmulatorOptions;
  config?: Partial<Config>;
  /** The key the server holds; null for none. Default: the sandbox key. */
  apiKey?: string | null;
  /**
   * What the server holds for ModelsLab; default: the sandbox account's token and key. Pass {} for none.
   */
  modelslabCredentials?: Partial<Record<CredentialName, string>>;
  capabilities?: ClientCapabilities;
  /** Client roots (file:// URIs) answered to roots/list. */
  roots?: string[];
  /** Put a lossy proxy (h.proxy) between the server and the emulator for the requests this matches. */
  lossy?: (method: string, path: string) => boolean;
  /** The server's env (credentials, ATELIER_STRIPE_SECRET_KEY…); default none. */
  env?: Record<string, string | undefined>;
}

export interface Harness {
  client: Client;
  emulator: PixelmuseEmulator;
  /** Present with the `lossy` option: set `h.proxy.lose` to lose that many answers. */
  proxy?: LossyProxy;
  modelslab: ModelslabEmulator;
  /** Stripe: the cards the ModelsLab emulator charges. */
  stripe: StripeEmulator;
  outputDir: string;
  /** The server's ATELIER_HOME (temporary): ledger, idempotency keys, quotes. */
  home: string;
  logs: string[];
  /** Every JSON-RPC message the client received, as it came off the transport. */
  received: unknown[];
  call(
    name: string,
    args?: Record<string, unknown>,
    options?: Parameters<Client['callTool']>[2],
  ): Promise<CallToolResult>;
  close(): Promise<void>;
}

/** An in-memory MCP client against our server, which talks to real emulators of both providers on loopback. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const stripe = await startStripeEmulator();
  const [emulator, modelslab] = await Promise.all([
    startPixelmuseEmulator({
      jobDelayMs: 150,
      ...options.emulator,
      // MPP payments settle with the SPTs this Stripe minted.
      mpp: { stripe: stripe.book, ...options.emulator?.mpp },
    }),
    startModelslabEmulator({ stripe, ...options.modelslab }),
  ]);
  const outputDir = await mkdtemp(join(tmpdir(), 'atelier-out-'));
  // Never the user's real ATELIER_HOME: the ledger and idempotency keys of a test stay in the test.
  const home = await mkdtemp(join(tmpdir(), 'atelier-home-'));
  const logs: string[] = [];
  const log: Logger = createLogger('debug', (line) => logs.push(line));
  const proxy = options.lossy ? await startLossyProxy(emulator.url, options.lossy) : undefined;
  const config: Config = {
    ...loadConfig({}, {}, outputDir),
    pixelmuseBaseUrl: proxy?.url ?? emulator.url,
    modelslabBaseUrl: modelslab.url,
    stripeApiBase: stripe.url,
    outputDir,
    home,
    credentialStore: 'memory',
    ...options.config,
  };
  const apiKey = options.apiKey === undefined ? SANDBOX_PIXELMUSE_KEY : options.apiKey;
  const services = createServices(config, log, {
    env: options.env ?? {},
    memory: {
      ...(apiKey ? { pixelmuse_api_key: apiKey } : {}),
      ...(options.modelslabCredentials ?? {
        modelslab_token: SANDBOX_MODELSLAB_TOKEN,
        modelslab_api_key: SANDBOX_MODELSLAB_KEY,
      }),
    },
  });
  const server = createServer(setupWith(services, TOOLS));
  const client = new Client(
    { name: 'atelier-test', version: '1.0.0' },
    { capabilities: { ...(options.roots ? { roots: {} } : {}), ...options.capabilities } },
  );
  if (options.roots) {
    const { ListRootsRequestSchema } = await import('@modelcontextprotocol/sdk/types.js');
    client.setRequestHandler(ListRootsRequestSchema, () => ({
      roots: options.roots!.map((uri) => ({ uri })),
    }));
  }
  const [a, b] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(a), client.connect(b)]);
  // Recorded below the SDK client, which silently drops progress it did not ask for.
  const received: unknown[] = [];
  const deliver = b.onmessage!;
  b.onmessage = (message, extra) => {
    received.push(message);
    deliver(message, extra);
  };
  return {
    received,
    proxy,
    client,
    emulator,
    modelslab,
    stripe,
    outputDir,
    home,
    logs,
    call: (name, args = {}, callOptions) =>
      client.callTool({ name, arguments: args }, undefined, callOptions) as Promise<CallToolResult>,
    async close() {
      await client.close();
      await server.close();
      await proxy?.close();
      await Promise.all([emulator.close(), modelslab.close(), stripe.close()]);
      await rm(outputDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
      await rm(home, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    },
  };
}

export function textOf(result: CallToolResult): string {
  return result.content
    .filter((c): c is { type: 'text'; text: string } => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

/** Absolute paths of files the result reports as saved ("- /abs/path (…)" lines). */
export function savedPaths(result: CallToolResult): string[] {
  return [...textOf(result).matchAll(/^- (\/\S+) \(/gm)].map((m) => m[1]!);
}
