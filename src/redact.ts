// Everything that leaves the server (results, progress, logs, errors) passes through redact(): provider keys,
// Stripe secrets and tokens, bearer values, the query string of signed URLs, and card numbers however spaced.

// JSON fields whose value is a credential. ModelsLab keys travel as "key" in generation bodies.
const SECRET_FIELDS = [
  'key',
  'api_key',
  'apiKey',
  'password',
  'password_confirmation',
  'current_password',
  'token',
  'access_token',
  'refresh_token',
  'verification_code',
  'sandbox_verification_code',
  'cvc',
  'cvv',
  'number',
  'card',
  'secret',
  'spt',
].join('|');

const SECRET_PARAMS = [
  'key',
  'api_?key',
  'password',
  'password_confirmation',
  'current_password',
  'passwd',
  'token',
  'access_token',
  'refresh_token',
  'verification_code',
].join('|');

const PATTERNS: Array<[RegExp, string]> = [
  // First, so that a bearer key is one "***" rather than its prefix's own redaction plus another.
  // A credential is long; "Payment Tokens" or "Payment Required" in prose is not one.
  [/\b(Bearer|Payment)\s+[A-Za-z0-9._~+/=-]{16,}/g, '$1 ***'],
  [/\bpm_(live|test)_[A-Za-z0-9]+/g, 'pm_$1_***'],
  [/\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+/g, '$1_$2_***'],
  [/\b(spt|seti|pi|pm|cs)_[A-Za-z0-9]*_secret_[A-Za-z0-9]+/g, '$1_***_secret_***'],
  [/\bspt_[A-Za-z0-9]+/g, 'spt_***'],
  [new RegExp(`("(?:${SECRET_FIELDS})"\\s*:\\s*)(?:"(?:[^"\\\\]|\\\\.)*"|\\d[\\d.]*)`, 'gi'), '$1"***"'],
  // The same inside a JSON string that holds JSON (a logged request body): \"password\":\"…\".
  [
    new RegExp(`(\\\\"(?:${SECRET_FIELDS})\\\\"\\s*:\\s*)\\\\"(?:[^"\\\\]|\\\\[^"])*\\\\"`, 'gi'),
    '$1\\"***\\"',
  ],
  // Form bodies, query strings (also of relative URLs) and log text: name=value where the value is a secret.
  [new RegExp(`((?:^|[?&\\s;,(])(?:${SECRET_PARAMS})=)[^&\\s#"',;)]+`, 'gim'), '$1***'],
  // Sanctum personal access tokens (ModelsLab's Agents API): "<id>|<40 random characters>".
  [/\b\d+\|[A-Za-z0-9]{40,}\b/g, '***'],
];

const URL_WITH_QUERY = /\b(https?:\/\/[^\s?#"'<>]+)\?([^\s#"'<>]*)/gi;

// S3, GCS, Azure SAS, CloudFront and the generic names pre-signed output links put their credential in.
const SIGNING_PARAM =
  /^(?:x-(?:amz|goog|oss)-[\w-]*|[\w-]*(?:signature|token|secret|credential|password)[\w-]*|sig|se|sp|sv|skoid|expires|policy|key-pair-id|key|api_?key|auth|hmac|hdnts)$/i;

function paramNames(query: string): string[] {
  return query.split('&').map((pair) => {
    const name = pair.split('=')[0] ?? '';
    try {
      return decodeURIComponent(name);
    } catch {
      return name;
    }
  });
}

/** A signed URL's query string is its credential: without it the link still says what it points at. */
function stripSignedQuery(_match: string, base: string, query: string): string {
  return paramNames(query).some((name) => SIGNING_PARAM.test(name)) ? `${base}?[signature removed]` : _match;
}

// 13 to 19 digits with at most two separators between any two of them: spaces of any width (no-break, thin,
// figure), dots, underscores, dashes. Not across lines: two numbers on two lines are two numbers. Not inside
// an id either: digits that touch a letter (pm_1234567890123b0e5) are part of a word, not a card.
const CARD_LIKE =
  /(?<![\dA-Za-z])\d(?:[\t\v\f \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000._-]{0,2}\d){12,18}(?![\dA-Za-z])/g;

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
  let out = text.replace(URL_WITH_QUERY, stripSignedQuery);
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

/** Keys of MCP results whose values must resolve exactly as they are; every other string a client is sent is redacted. */
export const KEEP_AS_IS = (key: string): boolean =>
  key === 'uri' || key === 'type' || key === 'mimeType' || key === 'nextCursor';

/** redact() on every string in a JSON-like value, except under keys `keep` names (a URI that must resolve). */
export function redactStrings<T>(value: T, keep: (key: string) => boolean = () => false): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, keep)) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, keep(k) ? v : redactStrings(v, keep)]),
  ) as T;
}
