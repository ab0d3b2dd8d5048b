import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_profile',
  toolset: 'account',
  providers: ['modelslab'],
  title: 'ModelsLab profile',
  description:
    "The ModelsLab account's profile: name, email, username, whether the email is verified, wallet balance " +
    'and preferences. Free; needs the access token (modelslab_login).',
  input: {},
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(_args, ctx) {
    const p = await ctx.modelslab.profile(ctx.signal);
    const lines = [
      `ModelsLab profile: ${p.name ?? '(no name)'} <${p.email}>${p.username ? `, username ${p.username}` : ''}`,
      `- email verified: ${p.verified === undefined ? 'not reported' : p.verified ? 'yes' : 'no'}`,
    ];
    if (p.created_at) lines.push(`- member since ${p.created_at.slice(0, 10)}`);
    if (typeof p.wallet_balance === 'number') lines.push(`- wallet: $${p.wallet_balance.toFixed(2)}`);
    if (p.preferences) {
      lines.push(
        `- preferences: ${Object.entries(p.preferences)
          .map(([k, v]) => `${k} ${String(v)}`)
          .join(', ')}`,
      );
    }
    return lines.join('\n');
  },
});
