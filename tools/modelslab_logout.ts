import * as z from 'zod';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_logout',
  toolset: 'onboarding',
  providers: ['modelslab'],
  title: 'Log out of ModelsLab',
  description:
    'Revokes the stored ModelsLab access token and deletes it from the store. The API key stays, so generation ' +
    'keeps working. Free.',
  input: { all: z.boolean().optional().describe('Revoke every token of the account, not only this one.') },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async run({ all }, ctx) {
    const current = await ctx.modelslab.tokens.current();
    if (!current) return 'No ModelsLab access token is stored; nothing to log out of.';
    if (current.source === 'env') {
      // Revoking it would break the configured env var for every later start; the user must change the env.
      return 'The ModelsLab token comes from MODELSLAB_TOKEN in the env; remove it there to log out.';
    }
    const { revokedUpstream } = await ctx.modelslab.logout(all ?? false, ctx.signal);
    return [
      revokedUpstream
        ? `Revoked ${all ? 'every token of the account' : 'the access token'} at ModelsLab.`
        : 'The token was already refused by ModelsLab (expired or revoked).',
      `Deleted it from ${current.where}. The API key is still stored; account tools need modelslab_login again.`,
    ].join('\n');
  },
});
