import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import { ModelslabAdmin } from '../src/providers/modelslab/admin.js';
import { sandboxCodeLine } from '../src/providers/modelslab/session.js';
import { secretArgument } from '../src/secret-arguments.js';
import { defineTool } from './define.js';
import { email, password } from './params.js';

const TOOL = 'modelslab_reset_password';

export default defineTool({
  name: TOOL,
  toolset: 'admin',
  providers: ['modelslab'],
  title: 'Reset a ModelsLab password',
  description:
    'forgot: ModelsLab emails a reset token. reset: with that token, the human types the new password into a ' +
    'one-time local page. Free; then modelslab_login.',
  input: {
    action: z.enum(['forgot', 'reset']),
    email,
    token: z.string().min(1).max(500).optional().describe('reset: token from the email.'),
    password: password.min(8).optional(),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ action, email, token, password }, ctx) {
    const admin = new ModelslabAdmin(ctx.modelslab);
    if (action === 'forgot') {
      const answer = await admin.forgotPassword(email, ctx.signal);
      return [
        `If ${email} has a ModelsLab account, ModelsLab has emailed it a password reset link.`,
        ...sandboxCodeLine(answer.sandbox_reset_token, ctx.config.sandbox, 'the reset token'),
        `Next: ask the human for the token in that email, then call ${TOOL} with action reset, the email and the token.`,
      ].join('\n');
    }
    if (!token) {
      throw new UserInputError('reset needs the token from the reset email.', {
        next: `Call ${TOOL} with action forgot first if no email came.`,
      });
    }
    const done = (address: string) =>
      `The ModelsLab password of ${address} is reset. Next: modelslab_login with the new password if a new token is needed.`;
    if (password !== undefined) {
      const note = secretArgument(ctx, TOOL, 'the password');
      await admin.resetPassword({ email, token, password }, ctx.signal);
      return `${done(email)}\n${note}`;
    }
    const { askHuman, emailField, NEW_PASSWORD_FIELDS, readNewPassword } =
      await import('../src/entry/index.js');
    return askHuman(ctx, {
      tool: TOOL,
      args: { action, email, token },
      what: 'the new password',
      text: {
        title: 'Choose a new ModelsLab password',
        provider: 'ModelsLab',
        account: email,
        purpose: 'Sets a new password on your ModelsLab account: it goes from this page to ModelsLab only.',
        submit: 'Set password',
      },
      fields: [emailField(email), ...NEW_PASSWORD_FIELDS],
      async accept(values, signal) {
        await admin.resetPassword({ email: values.email!, token, password: readNewPassword(values) }, signal);
        return { result: done(values.email!), page: `The password of ${values.email} is reset.` };
      },
      otherwise: 'reset it on modelslab.com from the link in the email.',
    });
  },
});
