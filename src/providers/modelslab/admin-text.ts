import { usd } from '../../spend/index.js';

/** The first of `keys` that a provider row has, as short one-line text: names and notes are the provider's words. */
export function field(row: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = row[key];
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    if (typeof value === 'string' && value.trim() !== '') {
      const flat = value.replace(/\s+/g, ' ').trim();
      return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
    }
  }
  return undefined;
}

/** A USD amount a provider row states, or undefined when it states none that is a number. */
export function amountOf(row: Record<string, unknown>, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const n = typeof row[key] === 'string' || typeof row[key] === 'number' ? Number(row[key]) : NaN;
    if (Number.isFinite(n)) return n;
  }
  return undefined;
}

export const money = (n: number | undefined) => (n === undefined ? 'amount not stated' : usd(n));

/** A date (YYYY-MM-DD) from an ISO time a row states. */
export const day = (row: Record<string, unknown>, ...keys: string[]) => field(row, ...keys)?.slice(0, 10);
