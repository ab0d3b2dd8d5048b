import { TOOLS } from '../../tools/index.js';
import type { Config } from '../config.js';
import { CREDENTIAL_ENV } from '../credentials/index.js';
import { ConfigurationError, ProviderError, UserInputError } from '../errors.js';
import { mask } from '../redact.js';
import type { Logger } from '../log.js';
import { PixelmuseClient } from '../providers/pixelmuse/client.js';
import { createServices } from '../services.js';
import { listToolsAsClient } from '../mcp/tools-as-client.js';
import { readSecret } from './read-secret.js';

type Print = (line: string) => void;

export async function tools(config: Config, log: Logger, print: Print): Promise<void> {
  const listed = await listToolsAsClient(createServices(config, log, { env: {}, memory: {} }));
  const tokens = (value: unknown) => Math.ceil(JSON.stringify(value).length / 4);
  const width = Math.max(...listed.map((t) => String(t.name).length));
  print(`${'tool'.padEnd(width)}  toolset     read-only  ~tokens`);
  for (const t of listed) {
    const def = TOOLS.find((d) => d.name === t.name);
    const ro = (t.annotations as { readOnlyHint?: boolean } | undefined)?.readOnlyHint ? 'yes' : 'no';
    print(
      `${String(t.name).padEnd(width)}  ${(def?.toolset ?? '').padEnd(10)}  ${ro.padEnd(9)}  ${tokens(t)}`,
    );
  }
  print(`${listed.length} tools, about ${tokens({ tools: listed })} tokens of tools/list (JSON length / 4).`);
}

/** Prints every prompt with its arguments and source, and each skipped user file; false if one was skipped. */
export async function prompts(config: Config, print: Print): Promise<boolean> {
  const { loadCatalog, promptArgumentList, userPromptDir } = await import('../../prompts/index.js');
  const catalog = await loadCatalog(userPromptDir(config.home));
  const builtin = catalog.prompts.filter((p) => p.source === 'built-in');
  const rows = catalog.prompts.map((p) => [
    p.name,
    p.kind,
    promptArgumentList(p),
    catalog.replaced.includes(p.name) ? `${p.source} (replaces the built-in)` : p.source,
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), 9));
  const line = (r: string[]) =>
    r
      .map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell))
      .join('  ')
      .trimEnd();
  print(line(['prompt', 'kind', 'arguments (* = required)', 'source']));
  for (const row of rows) print(line(row));
  for (const p of catalog.problems) print(`skipped ${p.file}: ${p.message}`);
  print(
    `${builtin.length} built-in and ${catalog.prompts.length - builtin.length} user prompts` +
      `${catalog.problems.length ? `, ${catalog.problems.length} skipped` : ''}. ` +
      `User templates: ${catalog.userDir}/*.yaml and *.yml (a template there replaces a built-in of the same name).`,
  );
  return catalog.problems.length === 0;
}

export async function status(config: Config, log: Logger, print: Print): Promise<void> {
  // The sandbox's server holds test keys in memory and ignores real ones: show those, as it would see them.
  const sandbox = config.sandbox ? (await import('../sandbox/index.js')).SANDBOX_CREDENTIALS : undefined;
  const { credentials, modelslab } = createServices(config, log, sandbox ?? {});
  const api = (url: string) =>
    sandbox ? 'API: an emulator on 127.0.0.1 that the sandboxed server starts' : `API ${url}`;
  const [pixelmuse, report, mlToken, mlKey] = await Promise.all([
    credentials.get('pixelmuse_api_key'),
    credentials.report(),
    modelslab.tokens.current(),
    modelslab.apiKey(),
  ]);
  print(`atelier-mcp status (${config.sandbox ? 'sandbox' : 'live'})`);
  print(
    pixelmuse
      ? `pixelmuse: configured, ${mask(pixelmuse.value)} from ${pixelmuse.where} (${api(config.pixelmuseBaseUrl)})`
      : `pixelmuse: not configured (run \`atelier-mcp login pixelmuse\` or set ${CREDENTIAL_ENV.pixelmuse_api_key})`,
  );
  if (!mlToken && !mlKey) {
    print(
      'modelslab: not configured (run `atelier-mcp login modelslab` or set MODELSLAB_TOKEN / MODELSLAB_API_KEY)',
    );
  } else {
    const expiry =
      mlToken?.expiresAt === null
        ? 'never expires'
        : mlToken?.expiresAt !== undefined
          ? `expires ${new Date(mlToken.expiresAt).toISOString().slice(0, 10)}`
          : 'expiry unknown';
    print(
      `modelslab: configured, token ${mlToken ? `${mask(mlToken.value)} from ${mlToken.where} (${expiry})` : 'none'}, ` +
        `API key ${mlKey ? `${mask(mlKey.value)} from ${mlKey.where}` : 'none'} (${api(config.modelslabBaseUrl)})`,
    );
  }
  const keychain =
    report.keychain === 'unavailable' ? `unavailable: ${report.keychainReason}` : report.keychain;
  print(
    sandbox
      ? 'credential store: memory (sandbox: nothing is read from or written to the OS keychain or a file)'
      : `credential store: ${report.mode} (OS keychain ${keychain}; file ${report.file})`,
  );
  print(`output dir: ${config.outputDir ?? "generated/ under the client's first root, else the cwd"}`);
}

const KEY_SHAPE = /^pm_(live|test)_[0-9a-f]{32}$/;

export async function login(config: Config, log: Logger, print: Print): Promise<void> {
  const key = (await readSecret({ prompt: 'Pixelmuse API key (input hidden): ' })).trim();
  if (!key)
    throw new UserInputError('No key was given.', {
      next: 'Paste the key at the prompt, or pipe it on stdin.',
    });
  if (!KEY_SHAPE.test(key)) {
    log.warn(
      'that key is not shaped like pm_live_… or pm_test_… followed by 32 hex characters; checking it anyway',
    );
  }
  const probe = new PixelmuseClient({ baseUrl: config.pixelmuseBaseUrl, log, apiKey: async () => key });
  try {
    const account = await probe.getAccount();
    const balance = account.credits?.total;
    print(
      `Key accepted by Pixelmuse: ${account.email ?? 'email not reported'}, plan ${account.plan ?? 'not reported'}, ` +
        `${typeof balance === 'number' ? `${balance} credits` : 'balance not reported'}.`,
    );
  } catch (error) {
    if (error instanceof ProviderError && error.status === 401) {
      throw new ConfigurationError('Pixelmuse rejected that key; nothing was stored.', {
        next: 'Copy a key from https://www.pixelmuse.studio/settings/api-keys and run login again.',
      });
    }
    throw error;
  }
  const { credentials } = createServices(config, log);
  const saved = await credentials.save('pixelmuse_api_key', key);
  print(`Stored ${mask(key)} in ${saved.where}.`);
  if (saved.keychainUnavailable) print(`The OS keychain was not used: ${saved.keychainUnavailable}`);
  if (process.env[CREDENTIAL_ENV.pixelmuse_api_key]) {
    print(`Note: ${CREDENTIAL_ENV.pixelmuse_api_key} is set and takes precedence over the stored key.`);
  }
}

export async function logout(config: Config, log: Logger, print: Print): Promise<void> {
  const { credentials } = createServices(config, log);
  const removed = await credentials.remove('pixelmuse_api_key');
  print(
    removed.length
      ? `Removed the Pixelmuse key from: ${removed.join(', ')}.`
      : 'No stored Pixelmuse key was found.',
  );
  if (process.env[CREDENTIAL_ENV.pixelmuse_api_key]) {
    print(`Note: ${CREDENTIAL_ENV.pixelmuse_api_key} is still set in this environment; unset it too.`);
  }
}
