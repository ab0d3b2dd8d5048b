import type { SpendOverview, SpendToday, StandingAuthorization } from './index.js';
import { utcDay } from './ledger.js';
import { fromMicros, micros, usd } from './money.js';

const LISTED = 20;

export function renderSpendReport(
  overview: SpendOverview,
  today: SpendToday | undefined,
  filter: { days: number; provider?: string; now?: Date },
): string {
  const day = today?.day ?? utcDay(filter.now ?? new Date());
  const since = new Date(Date.parse(`${day}T00:00:00Z`) - (filter.days - 1) * 86_400_000);
  const shown = overview.entries.filter(
    (e) => new Date(e.time) >= since && (filter.provider === undefined || e.provider === filter.provider),
  );
  const entries = shown.filter((e) => e.kind !== 'credit');
  const credits = shown.filter((e) => e.kind === 'credit');
  const lines = today
    ? [todayLine(today)]
    : [
        "CHARGES ARE BLOCKED: the ledger has lines that cannot be read, so today's spend is unknown:",
        ...overview.problems.slice(0, 10).map((p) => `- ${p}`),
        'Next: repair or remove those lines (check each charge with the provider first); the readable ones follow.',
      ];
  if (overview.held.length > 0) {
    lines.push('', 'Held against the daily cap until settled:');
    for (const h of overview.held) {
      lines.push(
        `- ${usd(h.amountUsd)} ${h.state} since ${h.since}: ${h.description}${h.reference ? ` (${h.reference})` : ''}`,
      );
    }
    if (overview.held.some((h) => h.state === 'outcome unknown'))
      lines.push(
        'An outcome is settled by making the same call again (it resends the same Idempotency-Key, so the provider answers instead of charging twice).',
      );
  }
  const standing = overview.standing.filter(
    (a) => filter.provider === undefined || a.provider === filter.provider,
  );
  if (standing.length > 0) lines.push('', ...standingLines(standing));
  if (credits.length > 0) {
    lines.push('', 'Credits (value added without a charge; counted in no cap):');
    for (const e of [...credits].sort((a, b) => b.time.localeCompare(a.time)).slice(0, LISTED))
      lines.push(
        `- ${e.time} ${e.provider} ${e.operation} +${money(e.amount, e.currency)} ${e.reference}${e.description ? `: ${e.description}` : ''}`,
      );
  }
  if (entries.length === 0) {
    lines.push(
      `No charges in the last ${filter.days} day(s)${filter.provider ? ` for ${filter.provider}` : ''}.`,
    );
    return lines.join('\n');
  }
  const groups = new Map<string, { total: Map<string, number>; count: number }>();
  for (const e of entries) {
    const key = `${utcDay(e.time)} ${e.provider}`;
    const g = groups.get(key) ?? { total: new Map<string, number>(), count: 0 };
    g.total.set(e.currency, (g.total.get(e.currency) ?? 0) + micros(e.amount));
    g.count++;
    groups.set(key, g);
  }
  lines.push('', `Per day (UTC) and provider, last ${filter.days} day(s):`);
  for (const [key, g] of [...groups].sort(([a], [b]) => b.localeCompare(a))) {
    const totals = [...g.total].map(([cur, m]) => money(fromMicros(m), cur)).join(' + ');
    lines.push(`- ${key}: ${totals} (${g.count} charge${g.count === 1 ? '' : 's'})`);
  }
  const newest = [...entries].sort((a, b) => b.time.localeCompare(a.time)).slice(0, LISTED);
  lines.push(
    '',
    `Charges, newest first${entries.length > LISTED ? ` (${LISTED} of ${entries.length})` : ''}:`,
  );
  for (const e of newest) {
    lines.push(
      `- ${e.time} ${e.provider} ${e.operation} ${money(e.amount, e.currency)} ${e.reference}` +
        `${e.replay ? ' (idempotent replay: one charge, not a second)' : ''}${e.outcome === 'unknown' ? ' (outcome never known: counted as spent)' : ''}` +
        `${e.reported_amount !== undefined ? ` (the provider reported ${JSON.stringify(e.reported_amount).slice(0, 24)})` : ''}${e.description ? `: ${e.description}` : ''}`,
    );
  }
  return lines.join('\n');
}

/** Standing authorisations, for spend_report and account_status: the provider may charge them without asking. */
export function standingLines(standing: StandingAuthorization[]): string[] {
  if (standing.length === 0) return [];
  return [
    'ON: standing authorisations (the provider charges these by itself, without asking again):',
    ...standing.map(
      (a) =>
        `- ${a.provider} ${a.description}: ${usd(a.amount)} each time ${a.trigger}, paid with ${a.paid_with}; set ${a.since}`,
    ),
  ];
}

export function todayLine(t: SpendToday): string {
  return (
    `Spend today (${t.day} UTC): ${usd(t.spentUsd)} of ${usd(t.maxPerDayUsd)} (ATELIER_MAX_USD_PER_DAY)` +
    `${t.heldUsd > 0 ? `, ${usd(t.heldUsd)} held by payments in progress` : ''}; ` +
    `at most ${usd(t.maxPerCallUsd)} per call; ` +
    (t.autoApproveUsd > 0
      ? `charges up to ${usd(t.autoApproveUsd)} need no approval.`
      : 'every charge needs approval.')
  );
}

function money(amount: number, currency: string): string {
  return currency.toUpperCase() === 'USD' ? usd(amount) : `${amount.toFixed(2)} ${currency}`;
}
