import { SpendStateError } from '../src/errors.js';
import { formatError } from '../src/error-format.js';
import { plural } from '../src/generation/outcome.js';
import { modelslabStatus } from '../src/providers/modelslab/status.js';
import { describeMpp } from '../src/providers/mpp-settings.js';
import { MISSING_KEY_NEXT } from '../src/providers/pixelmuse/errors.js';
import { mask } from '../src/redact.js';
import { standingLines, todayLine } from '../src/spend/report.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'account_status',
  toolset: 'account',
  providers: ['pixelmuse', 'modelslab'],
  title: 'Account status',
  description:
    'Per provider: credentials (where from, masked), balance, plan, token expiry, rate limit, usage, MPP set-up; ' +
    "and today's spend against the caps. Free. Call it first when a call fails with an auth or credit error, or " +
    'before a large batch.',
  input: {},
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run(_args, ctx) {
    const [credential, stores] = await Promise.all([
      ctx.credentials.get('pixelmuse_api_key'),
      ctx.credentials.report(),
    ]);
    const lines: string[] = [];
    if (ctx.config.providers.includes('modelslab')) {
      lines.push(...(await modelslabStatus(ctx)), '');
    }
    if (ctx.config.providers.includes('pixelmuse')) {
      lines.push(`Pixelmuse (${ctx.pixelmuse.baseUrl}${ctx.config.sandbox ? ', sandbox' : ''}):`);
      if (!credential) {
        lines.push('- not configured', `- Next: ${MISSING_KEY_NEXT}`);
      } else {
        lines.push(`- key: ${mask(credential.value)} from ${credential.where}`);
        try {
          const [account, usage] = await Promise.all([
            ctx.pixelmuse.getAccount(ctx.signal),
            // Usage is a nicety: an outage of that endpoint must not hide the balance.
            ctx.pixelmuse.getUsage(ctx.signal).catch(() => undefined),
          ]);
          const c = account.credits;
          const perMinute = account.rate_limit?.requests_per_minute;
          lines.push(
            `- account: ${account.email ?? 'email not reported'}, plan ${account.plan ?? 'not reported'}`,
            c?.total === undefined
              ? '- balance: not reported by Pixelmuse'
              : `- balance: ${c.total} credits (${c.subscription ?? '?'} subscription, ${c.purchased ?? '?'} purchased)`,
            `- rate limit: ${perMinute === undefined ? 'not reported' : `${perMinute} requests/min`}` +
              (ctx.pixelmuse.rateLimit.remaining !== undefined
                ? `, ${ctx.pixelmuse.rateLimit.remaining} left this window`
                : ''),
          );
          if (usage) {
            lines.push(
              `- this period (${usage.period.start.slice(0, 10)} to ${usage.period.end.slice(0, 10)}): ` +
                `${plural(usage.generations_count, 'generation')}, ${plural(usage.credits_used, 'credit')} used`,
            );
          }
        } catch (error) {
          // The rest of the report is still worth having when the account call fails.
          lines.push(
            ...formatError(error)
              .split('\n')
              .map((l) => `- ${l}`),
          );
        }
      }
      lines.push(...describeMpp(ctx.mpp));
    }
    lines.push(
      '',
      await ctx.spend.today().then(todayLine, (error: unknown) => {
        // The rest of the status is still worth showing; what blocks charges is said, with its file.
        if (error instanceof SpendStateError) return `CHARGES ARE BLOCKED: ${error.message}`;
        throw error;
      }),
      ...(await ctx.spend
        .standing()
        .then(standingLines, (error: unknown) => [
          `Standing authorisations cannot be read: ${error instanceof Error ? error.message : String(error)}`,
        ])),
    );
    if (stores.mode === 'memory') {
      lines.push('', 'Credential store: memory (nothing is read from or written to the keychain or disk).');
    } else {
      const keychain =
        stores.keychain === 'unavailable'
          ? `unavailable (${stores.keychainReason ?? 'no reason given'})`
          : stores.keychain;
      lines.push('', `Credential store: ${stores.mode}; OS keychain ${keychain}; file ${stores.file}.`);
    }
    return lines.join('\n');
  },
});
