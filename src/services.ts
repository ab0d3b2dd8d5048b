import { join } from 'node:path';
import type { Config } from './config.js';
import type { ServerServices } from './context.js';
import { CachedCredential } from './credentials/cached.js';
import { openCredentials, type CredentialName } from './credentials/index.js';
import { openGenerations } from './history/store.js';
import { openTrainings } from './history/trainings.js';
import type { Logger } from './log.js';
import { ModelslabClient } from './providers/modelslab/agents.js';
import { PixelmuseClient } from './providers/pixelmuse/client.js';
import { readSptSettings } from './providers/mpp-settings.js';
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
  const pixelmuseKey = new CachedCredential(credentials, 'pixelmuse_api_key');
  const pixelmuse = new PixelmuseClient({
    baseUrl: config.pixelmuseBaseUrl,
    log,
    apiKey: async () => (await pixelmuseKey.get())?.value,
    onUnauthorized: () => pixelmuseKey.drop(),
  });
  const modelslab = new ModelslabClient({ baseUrl: config.modelslabBaseUrl, credentials, log });
  const spendBook = openSpendBook(config, log);
  const mpp = readSptSettings(options.env ?? process.env, config.stripeApiBase);
  if (mpp.warning) log.warn(mpp.warning);
  if (mpp.problem) log.warn(`MPP payment is not configured: ${mpp.problem}`);
  // The sandbox's images are not real generations: remembered for the session only.
  const generations = openGenerations({
    log,
    ...(config.sandbox ? {} : { file: join(config.home, 'generations.jsonl') }),
  });
  const trainings = openTrainings({
    log,
    ...(config.sandbox ? {} : { file: join(config.home, 'trainings.jsonl') }),
  });
  return { config, log, credentials, pixelmuse, modelslab, spendBook, mpp, generations, trainings };
}
