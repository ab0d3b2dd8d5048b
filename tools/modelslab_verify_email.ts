import * as z from 'zod';
import { describeSession } from '../src/providers/modelslab/session.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_verify_email',
  toolset: 'onboarding',
  providers: ['modelslab'],
  title: 'Verify a ModelsLab email',
  description:
    'Verifies a new ModelsLab account with the emailed code and stores the access token and default API key (OS ' +
    'keychain). Free. account_status then shows ModelsLab configured.',
  input: {
    verification_code: z.string().trim().min(1).max(512).describe('The code from the verification email.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ verification_code }, ctx) {
    const saved = await ctx.modelslab.verifyEmail(verification_code, ctx.signal);
    return [
      'Email verified.',
      ...describeSession(saved),
      'Next: account_status shows the wallet balance; the wallet must be funded before paid generations.',
    ].join('\n');
  },
});
