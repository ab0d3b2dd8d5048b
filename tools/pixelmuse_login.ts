import { ProviderError } from '../src/errors.js';
import { PixelmuseClient } from '../src/providers/pixelmuse/client.js';
import { mask } from '../src/redact.js';
import { defineTool, type ToolContext } from './define.js';

const TOOL = 'pixelmuse_login';

export default defineTool({
  name: TOOL,
  // With modelslab_signup and modelslab_login: the tools that get a credential into atelier-mcp.
  toolset: 'onboarding',
  providers: ['pixelmuse'],
  title: 'Connect a Pixelmuse API key',
  description:
    'Connects Pixelmuse: the human types their API key into a one-time local page; it is checked and stored (OS ' +
    'keychain). You get the account and balance, never the key. Free.',
  input: {},
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run(_args, ctx) {
    const { askHuman, apiKeyField } = await import('../src/entry/index.js');
    return askHuman(ctx, {
      tool: TOOL,
      args: {},
      what: 'the Pixelmuse API key',
      text: {
        title: 'Connect a Pixelmuse API key',
        provider: 'Pixelmuse',
        purpose:
          'atelier-mcp checks the key with Pixelmuse, then keeps it in the OS keychain to generate images. ' +
          'Keys are at pixelmuse.studio, Settings, API keys.',
        submit: 'Check and store key',
      },
      fields: [apiKeyField('Pixelmuse API key', 'pm_live_…')],
      async accept(values, signal) {
        const stored = await storeKey(ctx, values.api_key!, signal);
        return { result: stored, page: 'The key works and is stored. You can close this tab.' };
      },
      otherwise:
        'run `npx atelier-mcp login pixelmuse` in a terminal, or set PIXELMUSE_API_KEY in the MCP client env.',
    });
  },
});

/** Stored only once Pixelmuse accepted it (GET /account answers with the account it belongs to). */
async function storeKey(ctx: ToolContext, key: string, signal: AbortSignal): Promise<string> {
  const probe = new PixelmuseClient({
    baseUrl: ctx.config.pixelmuseBaseUrl,
    log: ctx.log,
    apiKey: async () => key,
  });
  let account;
  try {
    account = await probe.getAccount(signal);
  } catch (error) {
    if (error instanceof ProviderError && error.status === 401) {
      error.next = 'Copy the key again from pixelmuse.studio (Settings, API keys) and paste it whole.';
    }
    throw error;
  }
  const saved = await ctx.credentials.save('pixelmuse_api_key', key);
  ctx.pixelmuse.forgetKey();
  const current = await ctx.credentials.get('pixelmuse_api_key');
  const balance = account.credits?.total;
  return [
    `Pixelmuse key ${mask(key)} checked with Pixelmuse and stored in ${saved.where}.`,
    `- account: ${account.email ?? 'email not reported'}, plan ${account.plan ?? 'not reported'}, ` +
      `${typeof balance === 'number' ? `${balance} credits` : 'balance not reported'}`,
    ...(saved.keychainUnavailable
      ? [`- the OS keychain was unavailable (${saved.keychainUnavailable})`]
      : []),
    ...(current?.source === 'env'
      ? ['- PIXELMUSE_API_KEY is set in the server env and still takes precedence over the stored key.']
      : []),
  ].join('\n');
}
