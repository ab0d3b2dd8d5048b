import type { Config } from './config.js';
import type { ServerServices } from './context.js';
import { openCredentials, type CredentialName } from './credentials/index.js';
import type { Logger } from './log.js';
import { PixelmuseClient } from './providers/pixelmuse/client.js';

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
    apiKey: async () => (await credentials.get('pixelmuse_api_key'))?.value,
  });
  return { config, log, credentials, pixelmuse };
}
