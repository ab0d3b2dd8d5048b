// Provider keys, Stripe secrets and tokens, bearer values, and anything shaped like a card number.
const PATTERNS: Array<[RegExp, string]> = [
  [/\bpm_(live|test)_[A-Za-z0-9]+/g, 'pm_$1_***'],
  [/\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+/g, '$1_$2_***'],
  [/\b(spt|seti|pi|pm|cs)_[A-Za-z0-9]*_secret_[A-Za-z0-9]+/g, '$1_***_secret_***'],
  [/\bspt_[A-Za-z0-9]+/g, 'spt_***'],
  [/\b(Bearer|Payment)\s+[A-Za-z0-9._~+/=-]+/g, '$1 ***'],
  [
    /("(?:key|api_key|apiKey|password|token|access_token|cvc|cvv|number|card|secret|spt)"\s*:\s*)"[^"]*"/gi,
    '$1"***"',
  ],
];

const CARD_LIKE = /\b(?:\d[ -]?){12,18}\d\b/g;

/** Luhn-valid digit runs are card numbers; other long numbers (epoch milliseconds, ids) are left alone. */
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 === 0;
}

export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out.replace(CARD_LIKE, (run) => (luhn(run.replace(/\D/g, '')) ? '[card]' : run));
}

/** Show enough of a credential to recognise it, never enough to use it. */
export function mask(secret: string): string {
  const prefix = /^(pm_(?:live|test)_|[a-z]{2,4}_(?:live|test)_)/.exec(secret)?.[0] ?? '';
  const rest = secret.slice(prefix.length);
  if (rest.length <= 8) return `${prefix}${'*'.repeat(Math.max(rest.length, 3))}`;
  return `${prefix}${rest.slice(0, 2)}…${rest.slice(-4)}`;
}
