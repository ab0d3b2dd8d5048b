import * as z from 'zod';
import type { Config } from '../src/config.js';
import { UserInputError } from '../src/errors.js';
import { ModelslabAdmin } from '../src/providers/modelslab/admin.js';
import { adminActionsOn } from '../src/tool-selection.js';
import { defineTool, type ToolContext } from './define.js';

/** With the admin toolset, the tool also updates the profile and preferences (profile-and-api-keys.mdx). */
const update = {
  action: z.enum(['get', 'update']).optional().describe('Default get.'),
  name: z.string().min(1).max(100).optional(),
  username: z
    .string()
    .regex(/^[\w-]{3,30}$/)
    .optional(),
  about_me: z.string().max(1000).optional(),
  preferences: z
    .object({
      nsfw_content: z.boolean(),
      wallet_notification_enabled: z.boolean(),
      wallet_notification_threshold: z.number().min(0).max(10_000),
    })
    .partial()
    .strict()
    .optional(),
};

export default defineTool({
  name: 'modelslab_profile',
  toolset: 'account',
  providers: ['modelslab'],
  title: 'ModelsLab profile',
  description:
    "The ModelsLab account's profile: name, email, username, email verified, wallet balance, preferences. Free; " +
    'needs the access token (modelslab_login).',
  input: (config: Pick<Config, 'toolsets' | 'readOnly'>) => (adminActionsOn(config) ? update : {}),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  adminAnnotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  async run(args: Partial<z.infer<z.ZodObject<typeof update>>>, ctx) {
    if (args.action === 'update') return updateProfile(args, ctx);
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

async function updateProfile(
  { name, username, about_me, preferences }: Partial<z.infer<z.ZodObject<typeof update>>>,
  ctx: ToolContext,
): Promise<string> {
  const fields = Object.fromEntries(
    Object.entries({ name, username, about_me }).filter(([, v]) => v !== undefined),
  );
  const prefs = preferences && Object.keys(preferences).length > 0 ? preferences : undefined;
  if (Object.keys(fields).length === 0 && !prefs) {
    throw new UserInputError('update needs name, username, about_me or preferences.', {
      next: 'Call again with what to change.',
    });
  }
  const admin = new ModelslabAdmin(ctx.modelslab);
  const changed: string[] = [];
  if (Object.keys(fields).length > 0) {
    await admin.updateProfile(fields, ctx.signal);
    changed.push(...Object.entries(fields).map(([k, v]) => `${k} "${String(v).slice(0, 80)}"`));
  }
  if (prefs) {
    await admin.updatePreferences(prefs, ctx.signal);
    changed.push(...Object.entries(prefs).map(([k, v]) => `${k} ${String(v)}`));
  }
  return `Updated the ModelsLab profile: ${changed.join(', ')}.`;
}
