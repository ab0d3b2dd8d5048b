import { ApiError } from '../core/exchange.js';
import { keyView, ownKey } from './agents.js';
import {
  agentsRoute,
  ok,
  userOf,
  validationError,
  type ModelslabEnv,
  type ModelslabExchange,
} from './server.js';

/**
 * Profile and API-key updates (profile-and-api-keys.mdx: PATCH /me, PATCH /me/preferences, PUT /api-keys/{id}).
 * A field the docs do not list (the CLI's `about`, `nsfw_enabled`) is refused rather than ignored.
 */
export function profileRoutes({ accounts }: ModelslabEnv) {
  const route = (method: string, path: string, run: (ctx: ModelslabExchange, p: string[]) => void) =>
    agentsRoute(method, path, 'token', 'agent-general', run);
  return [
    route('PATCH', '/me', (ctx) => {
      const problems = only(ctx, ['name', 'username', 'about_me']);
      const { name, username, about_me } = ctx.body;
      if (name !== undefined && (typeof name !== 'string' || name.trim() === '' || name.length > 100))
        problems.name = 'The name must be a string of 1 to 100 characters.';
      if (username !== undefined && (typeof username !== 'string' || !/^[A-Za-z0-9_-]{3,30}$/.test(username)))
        problems.username = 'The username may have 3 to 30 letters, digits, dashes and underscores.';
      else if (
        typeof username === 'string' &&
        accounts.users.some((u) => u !== userOf(ctx) && u.username.toLowerCase() === username.toLowerCase())
      )
        problems.username = 'The username has already been taken.';
      if (about_me !== undefined && (typeof about_me !== 'string' || about_me.length > 1000))
        problems.about_me = 'The about me must be a string of at most 1000 characters.';
      if (Object.keys(problems).length) throw validationError(problems);
      const user = userOf(ctx);
      if (typeof name === 'string') user.name = name.trim();
      if (typeof username === 'string') user.username = username;
      if (typeof about_me === 'string') user.aboutMe = about_me;
      ok(ctx, {
        message: 'Profile updated.',
        user: {
          id: user.id,
          name: user.name,
          email: user.email,
          username: user.username,
          about_me: user.aboutMe ?? null,
        },
      });
    }),
    route('PATCH', '/me/preferences', (ctx) => {
      const problems = only(ctx, [
        'nsfw_content',
        'wallet_notification_enabled',
        'wallet_notification_threshold',
      ]);
      const { nsfw_content, wallet_notification_enabled, wallet_notification_threshold } = ctx.body;
      for (const [field, value] of Object.entries({ nsfw_content, wallet_notification_enabled }))
        if (value !== undefined && typeof value !== 'boolean')
          problems[field] = `The ${field} must be true or false.`;
      const threshold = wallet_notification_threshold;
      if (
        threshold !== undefined &&
        (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 10_000))
      )
        problems.wallet_notification_threshold =
          'The wallet notification threshold must be a number from 0 to 10000.';
      if (Object.keys(problems).length) throw validationError(problems);
      const prefs = userOf(ctx).preferences;
      if (typeof nsfw_content === 'boolean') prefs.nsfw_content = nsfw_content;
      if (typeof wallet_notification_enabled === 'boolean')
        prefs.wallet_notification_enabled = wallet_notification_enabled;
      if (typeof threshold === 'number') prefs.wallet_notification_threshold = threshold;
      ok(ctx, { message: 'Preferences updated.', preferences: prefs });
    }),
    route('PUT', '/api-keys/(\\d+)', (ctx, [id = '']) => {
      const key = ownKey(userOf(ctx), id);
      const problems = only(ctx, ['name', 'notes']);
      const { name, notes } = ctx.body;
      if (name !== undefined && (typeof name !== 'string' || name.trim() === '' || name.length > 100))
        problems.name = 'The name must be a string of 1 to 100 characters.';
      if (notes !== undefined && notes !== null && (typeof notes !== 'string' || notes.length > 500))
        problems.notes = 'The notes may not be greater than 500 characters.';
      if (Object.keys(problems).length) throw validationError(problems);
      if (typeof name === 'string') key.name = name.trim();
      if (notes !== undefined) key.notes = (notes as string | null) || null;
      ok(ctx, { message: 'API key updated.', ...keyView(key, false) });
    }),
  ];
}

/** Problems for fields outside `allowed`, and for an empty body. */
function only(ctx: ModelslabExchange, allowed: string[]): Record<string, string> {
  const problems: Record<string, string> = {};
  const fields = Object.keys(ctx.body);
  if (fields.length === 0)
    throw new ApiError(422, 'validation_error', `Send at least one of ${allowed.join(', ')}.`);
  for (const f of fields) if (!allowed.includes(f)) problems[f] = `The ${f} field is not accepted here.`;
  return problems;
}
