import * as z from 'zod';
import { sandboxCodeLine } from '../src/providers/modelslab/session.js';
import { defineTool } from './define.js';
import { email, password } from './params.js';

export default defineTool({
  name: 'modelslab_signup',
  toolset: 'onboarding',
  providers: ['modelslab'],
  title: 'Create a ModelsLab account',
  description:
    'Creates a ModelsLab account and has a verification code emailed. Free. Then ask the user for the code ' +
    'and call modelslab_verify_email. Existing account: modelslab_login.',
  input: {
    email,
    password: password.min(8),
    name: z.string().min(1).max(100).optional().describe('Display name.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ email, password, name }, ctx) {
    const result = await ctx.modelslab.signup({ email, password, name }, ctx.signal);
    return [
      `ModelsLab account created for ${result.user?.email ?? email} (not verified yet).`,
      `A verification email was sent to ${email}.`,
      ...sandboxCodeLine(result.sandbox_verification_code, ctx.config.sandbox),
      'Next: ask the user for the code in that email, then call modelslab_verify_email with it. ' +
        'No email after a few minutes? Call modelslab_resend_verification.',
    ].join('\n');
  },
});
