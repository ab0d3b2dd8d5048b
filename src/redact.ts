// Everything that leaves the server (results, progress, elicitations, logs, errors) passes through redact(): first
// every secret the process holds, by value and in each form it may come back in (holdSecret below); then, by
// pattern, provider keys, Stripe secrets and tokens, bearer values, the query string of signed URLs, and card
// numbers however spaced.

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
  'wandb_key',
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

type Replacement = string | ((match: string) => string);

const PATTERNS: Array<[RegExp, Replacement]> = [
  // First, so that a bearer key is one "***" rather than its prefix's own redaction plus another.
  // A credential is long; "Payment Tokens" or "Payment Required" in prose is not one.
  [/\b(Bearer|Payment)\s+[A-Za-z0-9._~+/=-]{16,}/g, '$1 ***'],
  // Client secrets first: cs_test_a1…_secret_… would otherwise lose only its "cs_test_" prefix below.
  [/\b(spt|seti|pi|pm|cs)_(?:(?:live|test)_)?[A-Za-z0-9]*_secret_[A-Za-z0-9]+/g, '$1_***_secret_***'],
  [/\bpm_(live|test)_[A-Za-z0-9]+/g, 'pm_$1_***'],
  [/\b(sk|rk|pk)_(live|test)_[A-Za-z0-9]+/g, '$1_$2_***'],
  [/\bspt_[A-Za-z0-9]+/g, 'spt_***'],
  [new RegExp(`("(?:${SECRET_FIELDS})"\\s*:\\s*)(?:"(?:[^"\\\\]|\\\\.)*"|\\d[\\d.]*)`, 'gi'), '$1"***"'],
  // The same inside a JSON string that holds JSON (a logged request body): \"password\":\"…\".
  [
    new RegExp(`(\\\\"(?:${SECRET_FIELDS})\\\\"\\s*:\\s*)\\\\"(?:[^"\\\\]|\\\\[^"])*\\\\"`, 'gi'),
    '$1\\"***\\"',
  ],
  // Form bodies, query strings (also of relative URLs) and log text: name=value where the value is a secret.
  [new RegExp(`((?:^|[?&\\s;,(])(?:${SECRET_PARAMS})=)[^&\\s#"',;)]+`, 'gim'), '$1***'],
  // The same URL-encoded once more (a query parameter that holds a form body): …%26password%3D…%26….
  [new RegExp(`((?:^|[?&=\\s;,(]|%26|%3F)(?:${SECRET_PARAMS})%3D)(?:(?!%26)[^&\\s#"',;)])+`, 'gim'), '$1***'],
  // Stripe's form fields for a card, brackets plain or URL-encoded: card[cvc]=737, card%5Bnumber%5D=….
  [/(\bcard(?:\[|%5B)(?:number|cvc|exp_month|exp_year)(?:\]|%5D)(?:=|%3D))[^&\s#"',;)]+/gi, '$1***'],
  // Sanctum personal access tokens (ModelsLab's Agents API): "<id>|<40 random characters>", the bar maybe encoded.
  [/\b\d+(?:\||%7C)[A-Za-z0-9]{40,}\b/gi, '***'],
  // An MPP credential without its "Payment" scheme: base64url JSON that carries a Shared Payment Token.
  [/[A-Za-z0-9_-]{40,}={0,2}/g, (run) => (holdsPaymentToken(run) ? '***' : run)],
];

/** A long base64url run that decodes to a payment credential (its payload holds an spt_…). */
function holdsPaymentToken(run: string): boolean {
  const decoded = Buffer.from(run, 'base64url').toString('latin1');
  return /spt_[A-Za-z0-9]|"payload"\s*:/.test(decoded);
}

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
  let out = redactHeld(text).replace(URL_WITH_QUERY, stripSignedQuery);
  for (const [pattern, replacement] of PATTERNS) {
    out =
      typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
  }
  return out.replace(CARD_LIKE, redactCardRun);
}

/**
 * A Luhn-valid run is a card. So is a Luhn-valid span of whole digit groups inside a longer run: a card number
 * followed by its expiry ("4242 4242 4242 4242 12/30") reads as one run of 18 digits.
 */
function redactCardRun(run: string): string {
  if (luhn(run.replace(/\D/g, ''))) return '[card]';
  const groups = [...run.matchAll(/\d+/g)].map((m) => [m.index, m.index + m[0].length] as const);
  for (let first = 0; first < groups.length; first++) {
    for (let last = groups.length - 1; last >= first; last--) {
      const [start] = groups[first]!;
      const [, end] = groups[last]!;
      const digits = run.slice(start, end).replace(/\D/g, '');
      if (digits.length >= 13 && digits.length <= 19 && luhn(digits)) {
        return `${run.slice(0, start)}[card]${run.slice(end)}`;
      }
    }
  }
  return run;
}

// ---------- secrets by value ----------
// A pattern cannot know a random API key, a password or a Sanctum token that an upstream echoes back in a message;
// the process can, because it was given them. Whoever receives a secret (the credential store, a tool's arguments,
// a one-time page, the SPT minter) holds it here, and redact() masks it in every form it may come back in: plain,
// URL-encoded (once, twice, as a form), JSON-escaped (once, twice) and base64 (standard and URL alphabets, at any
// offset inside a longer encoded text). Any run of 8 characters taken from one of those forms is masked too, when
// it mixes letters with digits or symbols, so a secret cut short by a provider's message still does not leak.

/** Shorter values (a CVC) would mask ordinary numbers and words everywhere: patterns cover them. */
const MIN_HELD = 6;
const FRAGMENT = 8;
/** Text secrets, and card numbers as digits (matched with any separators between the digits). */
const held = new Set<string>();
const heldCards = new Set<string>();
let compiled: { whole: RegExp | undefined; windows: Set<string> } | undefined;

export type SecretKind = 'text' | 'card';

/** Mask `value` wherever it would leave the process from now on. Cheap when it is already held. */
export function holdSecret(value: unknown, kind: SecretKind = 'text'): void {
  if (typeof value !== 'string') return;
  if (kind === 'card') {
    const digits = value.replace(/\D/g, '');
    if (digits.length < 12 || heldCards.has(digits)) return;
    heldCards.add(digits);
    compiled = undefined;
    return;
  }
  for (const v of new Set([value, value.trim()])) {
    if (v.length < MIN_HELD || held.has(v)) continue;
    held.add(v);
    compiled = undefined;
  }
}

/** The forms a secret takes on the way out: plain, URL-encoded, JSON-escaped, base64 at each of 3 offsets. */
export function secretForms(secret: string): string[] {
  const forms = new Set<string>([secret]);
  const uri = encodeURIComponent(secret);
  forms.add(uri);
  forms.add(encodeURIComponent(uri));
  forms.add(new URLSearchParams([['', secret]]).toString().slice(1));
  const json = JSON.stringify(secret).slice(1, -1);
  forms.add(json);
  forms.add(JSON.stringify(json).slice(1, -1));
  const bytes = Buffer.from(secret, 'utf8');
  for (let shift = 0; shift < 3; shift++) {
    // Inside a longer base64 text the secret starts at some byte offset: only the characters that no byte
    // around it touches are fixed, and those are what is looked for.
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const core = encoded.slice(Math.ceil((8 * shift) / 6), Math.floor((8 * (shift + bytes.length)) / 6));
    forms.add(core);
    forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return [...forms].filter((f) => f.length >= MIN_HELD);
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Between two digits of a card: what CARD_LIKE allows, plus URL-encoded spaces. */
const CARD_GAP = `(?:[\\t\\v\\f \\u00a0\\u1680\\u2000-\\u200a\\u202f\\u205f\\u3000._-]|%20|\\+){0,2}`;
/** A fragment worth masking: random-looking (letters with digits or symbols), not a word of prose. */
const MIXED = (w: string) => /[A-Za-z]/.test(w) && /[^A-Za-z]/.test(w);

/** The part of a key every key of its kind shares (pm_live_, sk_test_, a Sanctum token's "12|"): not secret. */
const PUBLIC_PREFIX = /^(?:(?:pm|sk|rk|pk)_(?:live|test)_|\d+\|)/;

/** A secret without its public prefix: what no 8 characters of may leave the process. */
export function secretPart(secret: string): string {
  return secret.replace(PUBLIC_PREFIX, '');
}

function compile(): { whole: RegExp | undefined; windows: Set<string> } {
  const forms = new Set<string>();
  const parts = new Set<string>();
  for (const secret of held) {
    for (const form of secretForms(secret)) forms.add(form);
    // Fragments come from the secret part only: a shared prefix in a masked key ("pm_live_ab…") is no leak.
    for (const form of secretForms(secretPart(secret))) parts.add(form);
  }
  for (const digits of heldCards) {
    for (const form of secretForms(digits)) {
      forms.add(form);
      parts.add(form);
    }
  }
  const windows = new Set<string>();
  for (const form of parts) {
    for (let i = 0; i + FRAGMENT <= form.length; i++) {
      const window = form.slice(i, i + FRAGMENT);
      if (MIXED(window)) windows.add(window);
    }
  }
  const alternatives = [
    ...[...heldCards].map((digits) => digits.split('').join(CARD_GAP)),
    ...[...forms].sort((a, b) => b.length - a.length).map(escapeRegExp),
  ];
  return {
    whole: alternatives.length ? new RegExp(alternatives.join('|'), 'g') : undefined,
    windows,
  };
}

function redactHeld(text: string): string {
  if (held.size === 0 && heldCards.size === 0) return text;
  const { whole, windows } = (compiled ??= compile());
  const out = whole ? text.replace(whole, '***') : text;
  if (windows.size === 0 || out.length < FRAGMENT) return out;
  // Spans covered by held fragments, merged where they touch or overlap.
  const spans: Array<[number, number]> = [];
  for (let i = 0; i + FRAGMENT <= out.length; i++) {
    if (!windows.has(out.slice(i, i + FRAGMENT))) continue;
    const last = spans.at(-1);
    if (last && i <= last[1]) last[1] = i + FRAGMENT;
    else spans.push([i, i + FRAGMENT]);
  }
  if (spans.length === 0) return out;
  let result = '';
  let from = 0;
  for (const [start, end] of spans) {
    result += `${out.slice(from, start)}***`;
    from = end;
  }
  return result + out.slice(from);
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
