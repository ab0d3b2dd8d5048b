import { createHash } from 'node:crypto';

// The HTML of the one-time pages: no script at all (they work without JavaScript by construction), one inline
// stylesheet allowed by its hash, nothing from another origin. Every text that is not ours (a provider's error,
// an email) is escaped.

/** One input of a page. `autocomplete` carries the standard token that browsers and password managers fill. */
export interface Field {
  name: string;
  label: string;
  type: 'text' | 'email' | 'password';
  autocomplete: string;
  /** What is typed is held for redaction (src/redact.ts) and never written back into a page. */
  secret: boolean;
  /** Held as a card number: masked however it is spaced. */
  card?: boolean;
  /** Shown filled in (never for a secret field). */
  value?: string;
  inputmode?: 'numeric' | 'email' | 'text';
  placeholder?: string;
  minlength?: number;
  maxlength: number;
  pattern?: string;
  hint?: string;
}

/** What a page says it is for: the human decides from this whether to type a secret into it. */
export interface PageText {
  /** "Add a card to ModelsLab" */
  title: string;
  provider: string;
  /** One or two sentences: what happens with what is typed here. */
  purpose: string;
  account?: string;
  amount?: string;
  /** The submit button: "Save card". */
  submit: string;
}

const STYLE = `
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f4f4f5;color:#18181b}
main{max-width:30rem;margin:2rem auto;padding:1.5rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.35rem;margin:0 0 .75rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem .75rem;margin:0 0 1rem}
dt{color:#52525b}dd{margin:0}
label{display:block;font-weight:600;margin:.9rem 0 .25rem}
input{box-sizing:border-box;width:100%;font:inherit;padding:.55rem .65rem;border:1px solid #a1a1aa;border-radius:.4rem}
small{color:#52525b}
.error{background:#fef2f2;border:1px solid #fca5a5;color:#7f1d1d;padding:.6rem .8rem;border-radius:.4rem;white-space:pre-line}
.done{background:#f0fdf4;border:1px solid #86efac;color:#14532d;padding:.6rem .8rem;border-radius:.4rem;white-space:pre-line}
.actions{display:flex;gap:.75rem;margin-top:1.25rem}
button{font:inherit;padding:.55rem 1.1rem;border-radius:.4rem;border:1px solid #18181b;cursor:pointer}
button[value=submit]{background:#18181b;color:#fff}
button[value=cancel]{background:#fff;color:#18181b}
footer{margin-top:1.25rem;font-size:.85rem;color:#52525b}
`.trim();

const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/**
 * Sent with every answer. No script may run; styles only from the one inline stylesheet; a form may post only
 * to this origin; no page may frame this one; nothing is cached or sent on as a referrer.
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': `default-src 'none'; style-src ${STYLE_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'cache-control': 'no-store',
  pragma: 'no-cache',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const time = (at: Date) => `${at.toISOString().slice(11, 16)} UTC`;

function document(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title>` +
    `<style>${STYLE}</style></head><body><main>${body}</main></body></html>`
  );
}

function facts(text: PageText): string {
  const rows: Array<[string, string | undefined]> = [
    ['For', text.provider],
    ['Account', text.account],
    ['Amount', text.amount],
  ];
  return `<dl>${rows
    .filter((r): r is [string, string] => r[1] !== undefined)
    .map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v)}</dd>`)
    .join('')}</dl>`;
}

function input(field: Field, value: string | undefined): string {
  const attrs: Array<[string, string | number | undefined]> = [
    ['id', field.name],
    ['name', field.name],
    ['type', field.type],
    ['autocomplete', field.autocomplete],
    ['inputmode', field.inputmode],
    ['placeholder', field.placeholder],
    ['minlength', field.minlength],
    ['maxlength', field.maxlength],
    ['pattern', field.pattern],
    ['value', field.secret ? undefined : value],
    ['aria-describedby', field.hint ? `${field.name}-hint` : undefined],
  ];
  const html = attrs
    .filter((a): a is [string, string | number] => a[1] !== undefined && a[1] !== '')
    .map(([k, v]) => `${k}="${escapeHtml(String(v))}"`)
    .join(' ');
  const spell = field.type === 'password' || field.secret ? ' spellcheck="false" autocapitalize="off"' : '';
  return (
    `<label for="${field.name}">${escapeHtml(field.label)}</label><input ${html}${spell} required>` +
    (field.hint ? `<small id="${field.name}-hint">${escapeHtml(field.hint)}</small>` : '')
  );
}

/** The form: what it is for, the fields, submit and cancel; a provider's error above the fields when there is one. */
export function formPage(
  text: PageText,
  fields: readonly Field[],
  opts: { action: string; csrf: string; expiresAt: Date; error?: string; values?: Record<string, string> },
): string {
  const error = opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : '';
  return document(
    text.title,
    `<h1>${escapeHtml(text.title)}</h1>${facts(text)}<p>${escapeHtml(text.purpose)}</p>${error}` +
      `<form method="post" action="${escapeHtml(opts.action)}">` +
      `<input type="hidden" name="csrf" value="${escapeHtml(opts.csrf)}">` +
      fields.map((f) => input(f, opts.values?.[f.name] ?? f.value)).join('') +
      `<div class="actions"><button type="submit" name="action" value="submit">${escapeHtml(text.submit)}</button>` +
      `<button type="submit" name="action" value="cancel" formnovalidate>Cancel</button></div></form>` +
      `<footer>Served by atelier-mcp on this computer (127.0.0.1), not by ${escapeHtml(text.provider)}. ` +
      `What you type here goes to ${escapeHtml(text.provider)} (and Stripe for a card), never into the AI ` +
      `conversation. This link works in one browser and expires at ${time(opts.expiresAt)}.</footer>`,
  );
}

/** A page that ends the exchange (done, cancelled, gone, refused). */
export function messagePage(title: string, message: string, kind: 'done' | 'error' = 'error'): string {
  return document(
    title,
    `<h1>${escapeHtml(title)}</h1><p class="${kind}" role="status">${escapeHtml(message)}</p>` +
      '<footer>Served by atelier-mcp on this computer (127.0.0.1). You can close this tab.</footer>',
  );
}
