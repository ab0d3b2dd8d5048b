import type { OpenedUrl, SecretPages } from '../context.js';
import { redact } from '../redact.js';
import type { Consent, ConsentAnswer } from '../spend/index.js';
import { micros } from '../spend/money.js';
import { isRecord, type ModernCapabilities } from './modern.js';
import { InputRequired, type InputRequest, type RequestStates, type StateClaims } from './round-trip.js';

// The human and the client, reached by multi round-trip in a 2026-07-28 tool call: the first call ends with
// input_required (a form for a charge, a page to open, roots/list) and a signed requestState; the retry brings the
// answers and runs the tool again from the start, and the same question then finds its answer here.

export interface ModernCall {
  tool: string;
  /** argsDigest of the call's arguments: a state is bound to them. */
  args: string;
  capabilities: ModernCapabilities;
  states: RequestStates;
  /** The redeemed state and the client's answers, when this call is a retry. */
  retry?: { claims: StateClaims; responses: Record<string, unknown> };
}

/** The answer this retry brings to `ask`, once: a call asks each question at most once per round. */
function answerFor(
  call: ModernCall,
  ask: StateClaims['ask'],
  fits: (c: StateClaims) => boolean = () => true,
) {
  const retry = call.retry;
  if (!retry || retry.claims.ask !== ask || !fits(retry.claims)) return undefined;
  call.retry = undefined;
  return retry.responses[ask];
}

function required(
  call: ModernCall,
  ask: StateClaims['ask'],
  request: InputRequest,
  charge?: StateClaims['charge'],
) {
  return new InputRequired(
    { [ask]: request },
    call.states.issue({ tool: call.tool, args: call.args, ask, ...(charge ? { charge } : {}) }),
  );
}

/** An ElicitResult's action, or undefined when the client sent something else (the question is asked again). */
function action(result: unknown): ConsentAnswer | undefined {
  if (!isRecord(result)) return undefined;
  const a = result.action;
  return a === 'accept' || a === 'decline' || a === 'cancel' ? a : undefined;
}

/** Consent to a charge: a form showing the amount; the state is bound to the operation and amount it showed. */
export function modernConsent(
  call: ModernCall,
  approvalForm: (message: string) => Record<string, unknown>,
): Consent {
  const elicitation = call.capabilities.elicitation;
  return {
    canAsk: () =>
      elicitation !== undefined && (elicitation.form !== undefined || elicitation.url === undefined),
    ask(message, charge) {
      const bound = charge && { operation: charge.operation, micros: micros(charge.amountUsd) };
      const result = answerFor(
        call,
        'consent',
        (c) => c.charge?.operation === bound?.operation && c.charge?.micros === bound?.micros,
      );
      const answer = action(result);
      if (answer === undefined) {
        return Promise.reject(
          required(call, 'consent', { method: 'elicitation/create', params: approvalForm(message) }, bound),
        );
      }
      // Accepting the form without ticking the box is not consent.
      if (answer === 'accept') {
        const content = (result as { content?: unknown }).content;
        return Promise.resolve(isRecord(content) && content.approve === true ? 'accept' : 'decline');
      }
      return Promise.resolve(answer);
    },
    // A payment link goes into the result text: the modern era has no way to learn when the human paid.
    canOpenUrl: () => false,
    openUrl: () => Promise.resolve('cancel'),
  };
}

/** The one-time secret pages (src/entry/): the client opens the page (URL elicitation), then retries. */
export function modernPages(call: ModernCall, open: SecretPages['open']): SecretPages {
  let answered: ConsentAnswer | undefined;
  const take = () => (answered ??= action(answerFor(call, 'page')));
  return {
    canOpenUrl: () => call.capabilities.elicitation?.url !== undefined,
    openUrl(message, url): Promise<OpenedUrl> {
      const answer = take();
      if (answer === undefined) {
        return Promise.reject(
          required(call, 'page', {
            method: 'elicitation/create',
            params: { mode: 'url', message: redact(message), url },
          }),
        );
      }
      return Promise.resolve({ answer, complete: () => Promise.resolve() });
    },
    answered: take,
    open,
  };
}

/** The client's roots: asked by roots/list when it declares them, else none (the output folder is the cwd's). */
export function modernRoots(call: ModernCall): Promise<string[]> {
  if (call.capabilities.roots === undefined) return Promise.resolve([]);
  const result = answerFor(call, 'roots');
  if (isRecord(result) && Array.isArray(result.roots)) {
    return Promise.resolve(
      result.roots.filter(isRecord).flatMap((r) => (typeof r.uri === 'string' ? [r.uri] : [])),
    );
  }
  return Promise.reject(required(call, 'roots', { method: 'roots/list' }));
}
