// Plays the browser with fetch against a one-time secret page (src/entry/): opens the link (keeping the cookie
// the page binds itself to), reads the form's CSRF token, posts the form as a browser would.

export interface OpenedPage {
  url: string;
  status: number;
  html: string;
  headers: Headers;
  /** The cookie the page set on first opening (`name=value`), sent back with every later request. */
  cookie: string | undefined;
  csrf: string | undefined;
}

export async function openPage(url: string, cookie?: string): Promise<OpenedPage> {
  const res = await fetch(url, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const html = await res.text();
  const set = res.headers.get('set-cookie')?.split(';')[0];
  return {
    url,
    status: res.status,
    html,
    headers: res.headers,
    cookie: set ?? cookie,
    csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1],
  };
}

export async function submitPage(
  page: OpenedPage,
  fields: Record<string, string>,
  opts: { action?: 'submit' | 'cancel'; csrf?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; html: string }> {
  const body = new URLSearchParams({
    ...(opts.csrf === null ? {} : { csrf: opts.csrf ?? page.csrf ?? '' }),
    ...fields,
    action: opts.action ?? 'submit',
  });
  const res = await fetch(page.url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: new URL(page.url).origin,
      'sec-fetch-site': 'same-origin',
      ...(page.cookie ? { cookie: page.cookie } : {}),
      ...opts.headers,
    },
    body,
    redirect: 'manual',
  });
  return { status: res.status, html: await res.text() };
}

/** The text a page shows, tags dropped. */
export function pageText(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The one-time link in a tool result. */
export function linkIn(text: string): string {
  const url = /http:\/\/127\.0\.0\.1:\d+\/e\/[\w-]+/.exec(text)?.[0];
  if (!url) throw new Error(`no page link in:\n${text}`);
  return url;
}
