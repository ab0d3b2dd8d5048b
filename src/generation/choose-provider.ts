import type { Config, Provider } from '../config.js';
import type { Credentials } from '../credentials/index.js';

const CREDENTIAL = { pixelmuse: 'pixelmuse_api_key', modelslab: 'modelslab_api_key' } as const;

/**
 * The provider a call without `provider` uses: the only enabled one, else the only one with a credential,
 * else (both or neither) ATELIER_DEFAULT_PROVIDER, which defaults to Pixelmuse.
 */
export async function chooseProvider(
  requested: Provider | undefined,
  config: Pick<Config, 'providers' | 'defaultProvider'>,
  credentials: Pick<Credentials, 'get'>,
): Promise<Provider> {
  if (requested) return requested;
  const enabled = config.providers;
  if (enabled.length === 1) return enabled[0]!;
  const configured: Provider[] = [];
  for (const provider of enabled)
    if ((await credentials.get(CREDENTIAL[provider]).catch(() => undefined))?.value)
      configured.push(provider);
  return configured.length === 1 ? configured[0]! : config.defaultProvider;
}
