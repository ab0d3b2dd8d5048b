import type { OpenSecretPage, ToolContext } from '../context.js';
import { formatError } from '../error-format.js';
import { NothingStoredError } from '../errors.js';
import { isInputRequired } from '../mcp/round-trip.js';
import type { Field, PageText } from './page.js';
import {
  openOneTimePage,
  PAGE_TTL_MS,
  PageInputError,
  type Accepted,
  type OneTimePage,
  type PageOutcome,
} from './server.js';

export { PageInputError } from './server.js';
export * from './forms.js';
export type { Field } from './page.js';

// A secret the human types into a one-time page on 127.0.0.1 instead of the chat. With a client that declares
// URL-mode elicitation, the tool call asks it to open the page and waits for the page, with progress. Otherwise
// the result gives the link and says how to continue, and a later call of the same tool with the same arguments
// waits for that page. Loaded by the tools that use it, on their first such call: never at start-up.

export interface SecretRequest {
  /** The tool a later call resumes the page from. */
  tool: string;
  /** The call's arguments, secrets excluded: a later call with the same ones waits for the same page. */
  args: Record<string, unknown>;
  /** What the human types, for sentences: "the card", "the password", "the Pixelmuse API key". */
  what: string;
  text: PageText;
  fields: readonly Field[];
  accept(values: Record<string, string>, signal: AbortSignal): Promise<Accepted>;
  /** What else works when the human will not use the page (a payment link, the CLI): the end of a Next: line. */
  otherwise: string;
  /** How long the page lives; PAGE_TTL_MS (10 minutes) unless a test shortens it. */
  ttlMs?: number;
}

type Ctx = Pick<ToolContext, 'pages' | 'progress' | 'signal' | 'log'>;

/** A page whose link went into a result: kept per server (ctx.pages.open) until a call reports its outcome. */
interface Pending extends OpenSecretPage {
  page: OneTimePage;
  tool: string;
  args: string;
}

/** How long a later call waits for a page before answering "still waiting": within the SDK clients' 60 s. */
export const RESUME_WAIT_MS = 50_000;

const time = (at: Date) => `${at.toISOString().slice(11, 16)} UTC`;
const minutes = (page: OneTimePage) =>
  Math.max(1, Math.round((page.expiresAt.getTime() - Date.now()) / 60_000));
const canonical = (args: Record<string, unknown>) =>
  JSON.stringify(Object.fromEntries(Object.entries(args).sort(([a], [b]) => a.localeCompare(b))));

/** What the page shows for a failed submission: the error as the model would read it, without its Next: line. */
function pageError(error: unknown): string {
  if (error instanceof PageInputError) return error.message;
  return formatError(error)
    .split('\n')
    .filter((l) => !l.startsWith('Next:'))
    .join('\n');
}

/**
 * Gets `req.what` from the human through a one-time page and returns what the model is told: the outcome of
 * `accept` when the page was submitted, or the link and how to continue. Throws NothingStoredError when the
 * human declined, cancelled or let the page expire.
 */
export async function askHuman(ctx: Ctx, req: SecretRequest): Promise<string> {
  const args = canonical(req.args);
  const pending = ctx.pages.open.get(req.tool) as Pending | undefined;
  if (pending && pending.args === args) {
    const answer = ctx.pages.answered?.();
    if (answer === undefined || answer === 'accept') return resume(ctx, req, pending);
    ctx.pages.open.delete(req.tool);
    await pending.close();
    throw declined(req, answer);
  }
  if (pending) {
    // The same tool with other arguments (another email, say): the old page no longer matches the call.
    ctx.pages.open.delete(req.tool);
    await pending.close();
  }
  const page = await openOneTimePage({
    text: req.text,
    fields: req.fields,
    accept: req.accept,
    describeError: pageError,
    log: ctx.log,
    ttlMs: req.ttlMs,
  });
  if (ctx.pages.canOpenUrl()) {
    let opened;
    try {
      opened = await ctx.pages.openUrl(
        `${req.text.title}: atelier-mcp serves a one-time page on this computer (127.0.0.1) where you type ` +
          `${req.what}; it goes to ${req.text.provider}, never into the conversation. It expires in ` +
          `${minutes(page)} minutes.`,
        page.url,
      );
    } catch (error) {
      // 2026-07-28: the client opens the page between this call and its retry, which waits for the page.
      if (isInputRequired(error)) {
        keepOpen(ctx, req, page, args);
        throw error;
      }
      if (ctx.signal.aborted) {
        await page.close();
        throw error;
      }
      // The client declared URL elicitation but could not do it: the link goes into the result instead.
      ctx.log.warn(
        `URL elicitation failed (${formatError(error).split('\n')[0]}); the link goes in the result`,
      );
      return linkResult(ctx, req, page, args, 'The client could not open the page itself.');
    }
    if (opened.answer !== 'accept') {
      await page.close();
      throw declined(req, opened.answer);
    }
    try {
      const ended = await wait(ctx, req, page, Infinity);
      return report(req, page, ended);
    } catch (error) {
      await page.close();
      throw error;
    } finally {
      await opened.complete();
    }
  }
  return linkResult(ctx, req, page, args);
}

function declined(req: SecretRequest, answer: 'decline' | 'cancel'): NothingStoredError {
  return new NothingStoredError(
    answer === 'decline'
      ? `The human declined to open the page for ${req.what}.`
      : `The request to open the page for ${req.what} was dismissed.`,
    {
      next: `Ask the human how they want to go on: call ${req.tool} again for a new page, or ${req.otherwise}`,
    },
  );
}

/** The page stays open for a later call with the same arguments, which waits for it. */
function keepOpen(ctx: Ctx, req: SecretRequest, page: OneTimePage, args: string): void {
  const pending: Pending = { page, tool: req.tool, args, close: () => page.close() };
  ctx.pages.open.set(req.tool, pending);
}

function linkResult(ctx: Ctx, req: SecretRequest, page: OneTimePage, args: string, why?: string): string {
  keepOpen(ctx, req, page, args);
  return [
    `OPEN THIS LINK in a browser on this computer and type ${req.what} there, not in this chat:`,
    page.url,
    `${why ? `${why} ` : ''}atelier-mcp serves it on 127.0.0.1; it works in one browser and expires at ` +
      `${time(page.expiresAt)} (${minutes(page)} minutes). Nothing is stored until it is submitted.`,
    `Next: give the human this link, then call ${req.tool} again with the same arguments: that call waits for ` +
      `the page (up to ${RESUME_WAIT_MS / 1000} s per call) and reports the outcome.`,
  ].join('\n');
}

/** A later call: the page from an earlier result, waited for a while. */
async function resume(ctx: Ctx, req: SecretRequest, pending: Pending): Promise<string> {
  const ended = await wait(ctx, req, pending.page, RESUME_WAIT_MS);
  if (ended === undefined) {
    return [
      `STILL WAITING for the human to submit the page for ${req.what}: ${pending.page.url}`,
      `It expires at ${time(pending.page.expiresAt)}; nothing is stored until it is submitted.`,
      `Next: call ${req.tool} again with the same arguments to keep waiting.`,
    ].join('\n');
  }
  ctx.pages.open.delete(req.tool);
  return report(req, pending.page, ended);
}

/** Until the page ends, `limitMs` passes (undefined) or the call is cancelled (throws), with progress meanwhile. */
function wait(
  ctx: Ctx,
  req: SecretRequest,
  page: OneTimePage,
  limitMs: number,
): Promise<PageOutcome | undefined> {
  ctx.progress(`Waiting for the human to submit the page for ${req.what} (expires ${time(page.expiresAt)})`);
  return new Promise((resolve, reject) => {
    const timer = Number.isFinite(limitMs) ? setTimeout(() => done(undefined), limitMs) : undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(ctx.signal.reason);
    };
    const done = (outcome: PageOutcome | undefined) => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    if (ctx.signal.aborted) return onAbort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    void page.outcome.then(done);
  });
}

function report(req: SecretRequest, page: OneTimePage, ended: PageOutcome | undefined): string {
  const retried =
    page.failures.length > 0
      ? [`Before that, the page showed ${page.failures.length} error(s), the last: ${page.failures.at(-1)}`]
      : [];
  switch (ended?.status) {
    case 'done':
      return [
        ended.result,
        `${capital(req.what)} was typed into a one-time local page: it never passed through this conversation.`,
        ...retried,
      ].join('\n');
    case 'cancelled':
      throw new NothingStoredError(`The human cancelled the page for ${req.what}.`, {
        facts: retried,
        next: `Ask the human how they want to go on: call ${req.tool} again for a new page, or ${req.otherwise}`,
      });
    case 'expired':
    case undefined:
      throw new NothingStoredError(
        `The page for ${req.what} expired after ${Math.round((req.ttlMs ?? PAGE_TTL_MS) / 60_000)} minutes without being submitted.`,
        {
          facts: retried,
          next: `Call ${req.tool} again for a new link when the human is ready, or ${req.otherwise}`,
        },
      );
    case 'closed':
      throw new NothingStoredError(`The page for ${req.what} was closed before it was submitted.`, {
        next: `Call ${req.tool} again for a new page.`,
      });
  }
}

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
