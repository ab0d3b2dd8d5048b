import * as z from 'zod';
import { describeSession } from '../src/providers/modelslab/session.js';
import { defineTool } from './define.js';
import { email, password } from './params.js';

export default defineTool({
  name: 'modelslab_login',
  toolset: 'onboarding',
  providers: ['modelslab'],
  title: 'Log in to ModelsLab',
  description:
    'Logs in to a verified ModelsLab account; stores the access token, its expiry and the default API key ' +
    '(OS keychain). Free.',
  input: {
    email,
    password,
    token_expiry: z.enum(['1_week', '1_month', '3_months', 'never']).optional().describe('Default 1_month.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async run({ email, password, token_expiry }, ctx) {
    const saved = await ctx.modelslab.login({ email, password, token_expiry }, ctx.signal);
    return describeSession(saved).join('\n');
  },
});
