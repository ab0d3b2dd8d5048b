import { randomBytes } from 'node:crypto';
import type { AdminState } from './admin-state.js';
import { str } from './agents.js';
import { agentsRoute, ok, validationError, type ModelslabEnv } from './server.js';

const RESET_TTL_MS = 60 * 60 * 1000;

/**
 * Forgot / reset password (authentication.mdx). Forgot answers alike whether or not the address has an account;
 * the reset needs the emailed token, the same email, and the password twice (at least 8 characters, as signup).
 */
export function passwordRoutes(admin: AdminState) {
  return ({ accounts, now }: ModelslabEnv) => [
    agentsRoute('POST', '/auth/forgot-password', 'none', 'agent-auth', (ctx) => {
      const email = str(ctx, 'email');
      if (!email) throw validationError({ email: 'The email field is required.' });
      const user = accounts.byEmail(email);
      let token: string | undefined;
      if (user) {
        token = randomBytes(32).toString('hex');
        admin.resets.set(token, { userId: user.id, expiresAt: now() + RESET_TTL_MS });
      }
      ok(ctx, {
        message: 'If the account exists, a password reset email was sent.',
        // Not part of the real API: the sandbox has no mailbox, so it hands over what the email would carry.
        ...(token ? { sandbox_reset_token: token } : {}),
      });
    }),
    agentsRoute('POST', '/auth/reset-password', 'none', 'agent-auth', (ctx) => {
      const email = str(ctx, 'email');
      const token = str(ctx, 'token');
      const password = typeof ctx.body.password === 'string' ? ctx.body.password : '';
      const problems: Record<string, string> = {};
      if (!email) problems.email = 'The email field is required.';
      if (!token) problems.token = 'The token field is required.';
      if (!password) problems.password = 'The password field is required.';
      else if (password.length < 8) problems.password = 'The password must be at least 8 characters.';
      else if (ctx.body.password_confirmation !== password)
        problems.password = 'The password confirmation does not match.';
      if (Object.keys(problems).length) throw validationError(problems);
      const reset = admin.resets.get(token);
      const user = reset && accounts.byId(reset.userId);
      if (!reset || !user || reset.expiresAt <= now() || user.email.toLowerCase() !== email.toLowerCase())
        throw validationError({ email: 'This password reset token is invalid.' });
      admin.resets.delete(token);
      user.password = password;
      ok(ctx, { message: 'Your password has been reset.' });
    }),
  ];
}
