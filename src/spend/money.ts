/**
 * Amounts as whole micro-dollars. Caps and holds are sums, and ModelsLab prices go below a cent: rounding to
 * cents made a $0.004 plan a $0.00 charge that needed no approval. A millionth of a dollar keeps every price
 * the providers list exact, and sums of integers never drift.
 */

const MICROS_PER_USD = 1_000_000;

/** An amount in USD as integer micro-dollars. */
export function micros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

export function fromMicros(value: number): number {
  return value / MICROS_PER_USD;
}

/**
 * A price as a provider writes it (a number, or a string such as "0.004") when it is a finite number above
 * zero; undefined otherwise. Never a guess: "abc", "", NaN, Infinity, 0 and negatives are all undefined.
 */
export function positivePrice(value: unknown): number | undefined {
  // Number("") and Number("  ") are 0, refused like "0".
  const n = typeof value === 'number' || typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** $12.50; a sub-cent amount keeps its digits ($0.004), so a human never approves a figure that reads $0.00. */
export function usd(amount: number): string {
  const m = micros(amount);
  if (m % 10_000 === 0) return `$${amount.toFixed(2)}`;
  return `$${fromMicros(m).toFixed(6).replace(/0+$/, '')}`;
}
