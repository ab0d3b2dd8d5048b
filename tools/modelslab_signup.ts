import * as z from 'zod';
import { UserInputError } from '../src/errors.js';
import type { SignupResult } from '../src/providers/modelslab/types.js';
import { sandboxCodeLine } from '../src/providers/modelslab/session.js';
import { secretArgument } from '../src/secret-arguments.js';
import { defineTool } from './define.js';
import { email, password } from './params.js';

const TOOL = 'modelslab_signup';

export default defineTool({
  name: TOOL,
  toolset: 'onboarding',
  providers: ['modelslab'],
  title: 'Create a ModelsLab account',
  description:
    'Creates a ModelsLab account; a code is emailed. Free. The human types the password into a one-time local ' +
    'page. Then ask them for the code and call modelslab_verify_email. Existing account: modelslab_login.',
  input: {
    email: email.optional(),
    password: password.min(8).optional(),
    name: z.string().min(1).max(100).optional().describe('Display name.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ email, password, name }, ctx) {
    const created = (result: SignupResult, address: string) =>
      [
        `ModelsLab account created for ${result.user?.email ?? address} (not verified yet).`,
        `A verification email was sent to ${address}.`,
        ...sandboxCodeLine(result.sandbox_verification_code, ctx.config.sandbox),
        'Next: ask the user for the code in that email, then call modelslab_verify_email with it. ' +
          'No email after a few minutes? Call modelslab_resend_verification.',
      ].join('\n');
    if (password !== undefined) {
      const note = secretArgument(ctx, TOOL, 'the password');
      if (!email)
        throw new UserInputError('email is needed with password.', { next: `Call ${TOOL} with both.` });
      return `${created(await ctx.modelslab.signup({ email, password, name }, ctx.signal), email)}\n${note}`;
    }
    const { askHuman, emailField, NEW_PASSWORD_FIELDS, readNewPassword } =
      await import('../src/entry/index.js');
    return askHuman(ctx, {
      tool: TOOL,
      args: { email, name },
      what: 'the password',
      text: {
        title: 'Create a ModelsLab account',
        provider: 'ModelsLab',
        purpose:
          'Creates your ModelsLab account; ModelsLab then emails you a verification code. The password goes from ' +
          'this page to ModelsLab only.',
        submit: 'Create account',
      },
      fields: [emailField(email), ...NEW_PASSWORD_FIELDS],
      async accept(values, signal) {
        const chosen = readNewPassword(values);
        const result = await ctx.modelslab.signup({ email: values.email!, password: chosen, name }, signal);
        return {
          result: created(result, values.email!),
          page: `Account created for ${values.email}. ModelsLab has emailed you a verification code: give it to the assistant.`,
        };
      },
      otherwise: 'run `npx atelier-mcp login modelslab` in a terminal once the account exists.',
    });
  },
});
