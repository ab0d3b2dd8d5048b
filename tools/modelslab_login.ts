import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import type { SessionSaved } from '../src/providers/modelslab/agents.js';
import { ModelslabGenerationClient } from '../src/providers/modelslab/generation-client.js';
import { describeSession } from '../src/providers/modelslab/session.js';
import { mask } from '../src/redact.js';
import { secretArgument } from '../src/secret-arguments.js';
import { defineTool, type ToolContext } from './define.js';
import { email, password } from './params.js';

const TOOL = 'modelslab_login';

export default defineTool({
  name: TOOL,
  toolset: 'onboarding',
  providers: ['modelslab'],
  title: 'Log in to ModelsLab',
  description:
    'Logs in to a verified ModelsLab account and stores the access token and default API key (OS keychain). Free. ' +
    'The human types the password (method api_key: an API key) into a one-time local page.',
  input: {
    email: email.optional(),
    password: password.optional(),
    method: z.enum(['password', 'api_key']).optional().describe('api_key: store a generation key only.'),
    token_expiry: z.enum(['1_week', '1_month', '3_months', 'never']).optional().describe('Default 1_month.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ email, password, method = 'password', token_expiry }, ctx) {
    const session = (saved: SessionSaved) => describeSession(saved).join('\n');
    if (method === 'api_key') {
      if (password !== undefined) {
        throw new UserInputError('method "api_key" takes no password; it was not used.', {
          next: `Call ${TOOL} with method "api_key" alone: the human types the key into a local page.`,
        });
      }
      const { askHuman, apiKeyField } = await import('../src/entry/index.js');
      return askHuman(ctx, {
        tool: TOOL,
        args: { method },
        what: 'the ModelsLab API key',
        text: {
          title: 'Connect a ModelsLab API key',
          provider: 'ModelsLab',
          purpose:
            'atelier-mcp checks the key with ModelsLab, then keeps it in the OS keychain to generate images. ' +
            'Keys are at modelslab.com, in your dashboard under API keys.',
          submit: 'Check and store key',
        },
        fields: [apiKeyField('ModelsLab API key')],
        async accept(values, signal) {
          const stored = await storeApiKey(ctx, values.api_key!, signal);
          return { result: stored, page: 'The key works and is stored. Nothing else was changed.' };
        },
        otherwise: 'run `npx atelier-mcp login modelslab --api-key` in a terminal, or set MODELSLAB_API_KEY.',
      });
    }
    if (password !== undefined) {
      const note = secretArgument(ctx, TOOL, 'the password');
      if (!email)
        throw new UserInputError('email is needed with password.', { next: `Call ${TOOL} with both.` });
      return `${session(await ctx.modelslab.login({ email, password, token_expiry }, ctx.signal))}\n${note}`;
    }
    const { askHuman, emailField, CURRENT_PASSWORD } = await import('../src/entry/index.js');
    return askHuman(ctx, {
      tool: TOOL,
      args: { email, method, token_expiry },
      what: 'the password',
      text: {
        title: 'Log in to ModelsLab',
        provider: 'ModelsLab',
        account: email,
        purpose:
          'Logs atelier-mcp in to your ModelsLab account: the password goes from this page to ModelsLab only; ' +
          'the access token it gets back is kept in the OS keychain.',
        submit: 'Log in',
      },
      fields: [emailField(email), CURRENT_PASSWORD],
      async accept(values, signal) {
        const saved = await ctx.modelslab.login(
          { email: values.email!, password: values.password!, token_expiry },
          signal,
        );
        return {
          result: session(saved),
          page: `Logged in to ModelsLab as ${saved.grant.user?.email ?? values.email}.`,
        };
      },
      otherwise: 'run `npx atelier-mcp login modelslab` in a terminal.',
    });
  },
});

/** A key is stored only once ModelsLab accepted it: the legacy wallet endpoint is the cheapest call it answers. */
async function storeApiKey(ctx: ToolContext, key: string, signal: AbortSignal): Promise<string> {
  const probe = new ModelslabGenerationClient({
    baseUrl: ctx.config.modelslabBaseUrl,
    apiKey: async () => key,
    log: ctx.log,
  });
  const answer = await probe.post('/api/wallet_balance', {}, { signal }, { retryable: true });
  const balance = Number((answer.data as { balance?: unknown } | undefined)?.balance);
  if (answer.status === 'error' || answer.status === 'failed') throw probe.refusal(answer);
  const saved = await ctx.credentials.save('modelslab_api_key', key);
  ctx.modelslab.apiKeyRejected(); // drops the cached key: the next generation reads the new one
  const current = await ctx.credentials.get('modelslab_api_key');
  return [
    `ModelsLab API key ${mask(key)} checked with ModelsLab and stored in ${saved.where}.`,
    ...(Number.isFinite(balance) ? [`- wallet: ${balance.toFixed(2)} USD`] : []),
    ...(saved.keychainUnavailable
      ? [`- the OS keychain was unavailable (${saved.keychainUnavailable})`]
      : []),
    ...(current?.source === 'env'
      ? ['- MODELSLAB_API_KEY is set in the server env and still takes precedence over the stored key.']
      : []),
    'Account tools (wallet, cards, usage) also need a login: modelslab_login without method.',
  ].join('\n');
}
