import { sandboxCodeLine } from '../src/providers/modelslab/session.js';
import { defineTool } from './define.js';
import { email } from './params.js';

export default defineTool({
  name: 'modelslab_resend_verification',
  toolset: 'onboarding',
  providers: ['modelslab'],
  title: 'Resend the ModelsLab verification email',
  description:
    'Sends the ModelsLab verification email again (code lost or refused). Free. Then call modelslab_verify_email ' +
    'with the newest code.',
  input: { email },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ email }, ctx) {
    const result = await ctx.modelslab.resendVerification(email, ctx.signal);
    return [
      `If ${email} has an unverified ModelsLab account, a new verification email is on its way.`,
      ...sandboxCodeLine(result.sandbox_verification_code, ctx.config.sandbox),
      'Next: call modelslab_verify_email with the code from the newest email.',
    ].join('\n');
  },
});
