import { join } from 'node:path';
import type { Config } from './config.js';
import type { ServerServices } from './context.js';
import { openCredentials, type CredentialName } from './credentials/index.js';
import type { Logger } from './log.js';
import { PixelmuseClient } from './providers/pixelmuse/client.js';
import { readSptSettings } from './providers/stripe.js';
import { openIdempotencyStore } from './spend/idempotency.js';
import { spendDir } from './spend/home.js';
import { openSpendBook } from './spend/index.js';

/** Everything a server (or a CLI command) needs, built from the config once. */
export function createServices(
  config: Config,
  log: Logger,
  options: {
    env?: Record<string, string | undefined>;
    memory?: Partial<Record<CredentialName, string>>;
  } = {},
): ServerServices {
  const credentials = openCredentials(config, { env: options.env, memory: options.memory });
  const pixelmuse = new PixelmuseClient({
    baseUrl: config.pixelmuseBaseUrl,
    log,
    apiKey: cachedFor(KEY_CACHE_MS, async () => (await credentials.get('pixelmuse_api_key'))?.value),
  });
  const idempotency = openIdempotencyStore(join(spendDir(config), 'idempotency'));
  const spendBook = openSpendBook(config, log, idempotency);
  const mpp = readSptSettings(options.env ?? process.env, config.stripeApiBase);
  if (mpp.warning) log.warn(mpp.warning);
  if (mpp.problem) log.warn(`MPP payment is not configured: ${mpp.problem}`);
  return { config, log, credentials, pixelmuse, idempotency, spendBook, mpp };
}

/** A polling loop asks for the key every half second; the keychain needs asking only once a minute. */
const KEY_CACHE_MS = 60_000;

function cachedFor(ms: number, read: () => Promise<string | undefined>): () => Promise<string | undefined> {
  let hit: { value: string; at: number } | undefined;
  return async () => {
    if (hit && Date.now() - hit.at < ms) return hit.value;
    const value = await read();
    // A missing key is not cached: one stored by `atelier-mcp login` is picked up on the next call.
    hit = value === undefined ? undefined : { value, at: Date.now() };
    return value;
  };
}
