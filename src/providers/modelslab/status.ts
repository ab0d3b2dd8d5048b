import type { ToolContext } from '../../context.js';
import { formatError } from '../../error-format.js';
import { mask } from '../../redact.js';
import { MISSING_KEY_NEXT, MISSING_TOKEN_NEXT } from './errors.js';
import { modelslabGenerationClient } from './generation-client.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The ModelsLab part of account_status: where the token and the key come from (masked), the token's expiry,
 * the wallet balance and any subscription. A failing call is reported in place; the rest still shows.
 */
export async function modelslabStatus(ctx: ToolContext): Promise<string[]> {
  const ml = ctx.modelslab;
  const lines = [`ModelsLab (${ml.baseUrl}${ctx.config.sandbox ? ', sandbox' : ''}):`];
  const [token, key] = await Promise.all([ml.tokens.current(), ml.apiKey()]);
  if (!token && !key) {
    lines.push('- not configured', `- Next: ${MISSING_TOKEN_NEXT}`);
    return lines;
  }
  lines.push(
    token
      ? `- access token: ${mask(token.value)} from ${token.where}, ${expiry(token.expiresAt, Date.now())}`
      : `- access token: none (account, wallet and usage tools need one). Next: ${MISSING_TOKEN_NEXT}`,
    key
      ? `- API key (generation): ${mask(key.value)} from ${key.where}`
      : `- API key (generation): none. Next: ${MISSING_KEY_NEXT}`,
  );
  if (!token) return [...lines, ...(await legacyWallet(ctx))];
  try {
    const [balance, subscriptions] = await Promise.all([
      ml.walletBalance(ctx.signal),
      // A subscription is a nicety here: its outage must not hide the balance.
      ml.subscriptions(ctx.signal).catch(() => undefined),
    ]);
    lines.push(`- wallet: ${balance.balance.toFixed(2)} ${balance.currency ?? 'USD'}`);
    if (subscriptions) {
      lines.push(
        subscriptions.length === 0
          ? '- subscription: none (pay as you go from the wallet)'
          : `- subscription: ${subscriptions.map(describeSubscription).join('; ')}`,
      );
    }
    const general = ml.limiters['agent-general'];
    if (general.remaining !== undefined)
      lines.push(`- rate limit: ${general.remaining} account calls left this minute`);
  } catch (error) {
    lines.push(
      ...formatError(error)
        .split('\n')
        .map((l) => `- ${l}`),
    );
  }
  return lines;
}

/** With only an API key, the legacy POST /api/wallet_balance still tells the balance. */
async function legacyWallet(ctx: ToolContext): Promise<string[]> {
  try {
    const client = modelslabGenerationClient(ctx);
    const answer = await client.post('/api/wallet_balance', {}, { signal: ctx.signal }, { retryable: true });
    const data = (answer.data ?? answer) as { balance?: unknown; currency?: unknown };
    const balance = Number(data.balance);
    if (answer.status === 'error' || !Number.isFinite(balance)) throw client.refusal(answer);
    const currency = typeof data.currency === 'string' ? data.currency : 'USD';
    return [`- wallet: ${balance.toFixed(2)} ${currency} (read with the API key)`];
  } catch (error) {
    return formatError(error)
      .split('\n')
      .map((l) => `- ${l}`);
  }
}

function expiry(at: number | null | undefined, now: number): string {
  if (at === null) return 'never expires';
  if (at === undefined) return 'expiry unknown (set MODELSLAB_TOKEN_EXPIRES_AT with MODELSLAB_TOKEN)';
  const days = Math.floor((at - now) / DAY_MS);
  if (at <= now) return `EXPIRED on ${new Date(at).toISOString().slice(0, 10)}`;
  return `expires ${new Date(at).toISOString().slice(0, 10)} (${days < 1 ? 'within a day: refreshed on the next call' : `in ${days} days`})`;
}

function describeSubscription(s: Record<string, unknown>): string {
  const name = s.plan_name ?? s.name ?? (s.plan_id !== undefined ? `plan ${String(s.plan_id)}` : 'plan');
  return [
    String(name),
    s.status ? `status ${String(s.status)}` : undefined,
    s.current_period_end ? `renews ${String(s.current_period_end).slice(0, 10)}` : undefined,
  ]
    .filter(Boolean)
    .join(', ');
}
