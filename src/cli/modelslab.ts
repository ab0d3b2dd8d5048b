import type { Config } from '../config.js';
import { CREDENTIAL_ENV } from '../credentials/index.js';
import { UserInputError } from '../errors.js';
import type { Logger } from '../log.js';
import { TOKEN_EXPIRIES, type TokenExpiry } from '../providers/modelslab/types.js';
import { describeSession } from '../providers/modelslab/session.js';
import { mask } from '../redact.js';
import { createServices } from '../services.js';
import { readFields, readSecret } from './read-secret.js';

type Print = (line: string) => void;

/** `atelier-mcp login modelslab`: an account login (email, password), or `--api-key` to store a key only. */
export async function loginModelslab(
  config: Config,
  log: Logger,
  print: Print,
  opts: { apiKey?: boolean; tokenExpiry?: string },
): Promise<void> {
  const { credentials, modelslab } = createServices(config, log);
  if (opts.apiKey) {
    const key = (await readSecret({ prompt: 'ModelsLab API key (input hidden): ' })).trim();
    if (!key)
      throw new UserInputError('No key was given.', {
        next: 'Paste the key at the prompt, or pipe it on stdin.',
      });
    const saved = await credentials.save('modelslab_api_key', key);
    print(`Stored ${mask(key)} in ${saved.where}. It is checked on the first generation.`);
    if (saved.keychainUnavailable) print(`The OS keychain was not used: ${saved.keychainUnavailable}`);
    envNote('modelslab_api_key', print);
    return;
  }
  if (opts.tokenExpiry !== undefined && !(TOKEN_EXPIRIES as readonly string[]).includes(opts.tokenExpiry)) {
    throw new UserInputError(`--token-expiry ${opts.tokenExpiry} is not valid.`, {
      next: `Use one of: ${TOKEN_EXPIRIES.join(', ')}.`,
    });
  }
  const [email = '', password = ''] = await readFields([
    { prompt: 'ModelsLab email: ', secret: false },
    { prompt: 'ModelsLab password (input hidden): ', secret: true },
  ]);
  if (!email || !password) {
    throw new UserInputError('An email and a password are needed.', {
      next: 'Type them at the prompts, or pipe two lines on stdin: the email, then the password.',
    });
  }
  const saved = await modelslab.login({
    email,
    password,
    ...(opts.tokenExpiry ? { token_expiry: opts.tokenExpiry as TokenExpiry } : {}),
  });
  for (const line of describeSession(saved)) print(line);
  envNote('modelslab_token', print);
}

/** `atelier-mcp logout modelslab`: revoke the token upstream, then remove the token, its expiry and the key. */
export async function logoutModelslab(config: Config, log: Logger, print: Print): Promise<void> {
  const { credentials, modelslab } = createServices(config, log);
  const token = await modelslab.tokens.current();
  const stored = token !== undefined && token.source !== 'env';
  if (stored) {
    try {
      const { revokedUpstream } = await modelslab.logout(false);
      print(
        revokedUpstream ? 'Revoked the access token at ModelsLab.' : 'ModelsLab already refused the token.',
      );
    } catch (error) {
      // The local copy goes anyway: the user asked to be logged out of this machine.
      log.warn(`could not revoke the token at ModelsLab (it stays valid until it expires): ${String(error)}`);
      await modelslab.tokens.clear();
    }
  }
  const removed = (await credentials.remove('modelslab_api_key')).length > 0;
  // Say what was there: a machine with only an API key had no token to remove.
  if (stored && removed) print('Removed the stored ModelsLab token and API key.');
  else if (stored) print('Removed the stored ModelsLab token (no API key was stored).');
  else if (removed) print('Removed the stored ModelsLab API key (no token was stored).');
  else print('No stored ModelsLab token or key was found.');
  envNote('modelslab_token', print);
  envNote('modelslab_api_key', print);
}

function envNote(name: 'modelslab_token' | 'modelslab_api_key', print: Print): void {
  if (process.env[CREDENTIAL_ENV[name]]) {
    print(`Note: ${CREDENTIAL_ENV[name]} is set in this environment and takes precedence over the store.`);
  }
}
