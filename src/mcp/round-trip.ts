import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { UserInputError } from '../errors.js';
import { nothingSent } from '../spend/outcome.js';

// Multi round-trip requests (MCP 2026-07-28): a server that needs the human (a charge to approve, a page to open)
// or the client (its roots) ends the call with `resultType: "input_required"`, the requests, and a
// `requestState`; the client retries the same call with `inputResponses` and that state. No SDK here.

/** One request for the client to fulfil before it retries (elicitation/create or roots/list). */
export interface InputRequest {
  method: 'elicitation/create' | 'roots/list';
  params?: Record<string, unknown>;
}

/** What a call needs from the client before it can go on: thrown through the tool, answered as input_required. */
export class InputRequired extends Error {
  constructor(
    readonly inputRequests: Record<string, InputRequest>,
    readonly requestState: string,
  ) {
    super('input required from the client');
    // The call stops to ask before its next request leaves: nothing of it was sent, so no code on the way out may
    // take it for a lost answer (and wrap it, hiding it from the tools/call seam that answers input_required).
    nothingSent(this);
  }
}

export const isInputRequired = (error: unknown): error is InputRequired => error instanceof InputRequired;

/** What a state answers for: which call, which question, and for a charge, which amount. */
export interface StateClaims {
  tool: string;
  /** sha256 of the call's arguments (src/spend/idempotency.ts argsDigest). */
  args: string;
  ask: 'consent' | 'page' | 'roots';
  charge?: { operation: string; micros: number };
}

interface Payload extends StateClaims {
  exp: number;
  nonce: string;
}

/** A state is good for as long as the human may take to answer a form (the consent timeout of the 2025 era). */
export const STATE_TTL_MS = 10 * 60 * 1000;

export interface RequestStates {
  issue(claims: StateClaims): string;
  /** Checks a state from a retry of `call` and uses it up; throws (a UserInputError naming why) otherwise. */
  redeem(state: string, call: { tool: string; args: string }): StateClaims;
}

/**
 * States signed with a key made at start (HMAC-SHA256) and redeemed once. The key never leaves the process: a
 * stdio client retries on the same pipe, and a state that outlives its process (a restart in between) is refused
 * as unknown, which only means the human is asked again. So nothing secret is written to disk, and single use is a
 * set of nonces in memory, pruned as they expire.
 */
export function requestStates(options: { now?: () => number; ttlMs?: number } = {}): RequestStates {
  const now = options.now ?? (() => Date.now());
  const ttlMs = options.ttlMs ?? STATE_TTL_MS;
  const key = randomBytes(32);
  const used = new Map<string, number>();
  const mac = (body: string) => createHmac('sha256', key).update(body).digest();
  const keyed = (digest: string) => mac(`args:${digest}`).toString('base64url');

  return {
    issue(claims) {
      const payload: Payload = {
        ...claims,
        // The state goes to the client in the clear (signed, not encrypted): a bare sha256 of arguments that may
        // hold a card or a password could be guessed offline, so the state carries it keyed.
        args: keyed(claims.args),
        exp: now() + ttlMs,
        nonce: randomBytes(12).toString('base64url'),
      };
      const body = `v1.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
      return `${body}.${mac(body).toString('base64url')}`;
    },
    redeem(state, call) {
      const again = `Call ${call.tool} again without requestState and inputResponses: the human is asked again.`;
      const refuse = (why: string) =>
        new UserInputError(`${why} Nothing was charged or stored.`, { next: again });
      const cut = state.lastIndexOf('.');
      const body = state.slice(0, cut);
      const given = Buffer.from(state.slice(cut + 1), 'base64url');
      const expected = mac(body);
      if (cut < 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw refuse(
          'This requestState was not issued by this atelier-mcp process (it was altered, or the server restarted since).',
        );
      }
      const payload = JSON.parse(Buffer.from(body.slice(3), 'base64url').toString('utf8')) as Payload;
      if (payload.tool !== call.tool || payload.args !== keyed(call.args)) {
        throw refuse(
          `This requestState belongs to another call (${payload.tool} with other arguments); a state answers only the call it came with.`,
        );
      }
      const at = now();
      for (const [nonce, exp] of used) if (exp <= at) used.delete(nonce);
      if (payload.exp <= at)
        throw refuse(`This requestState has expired (states last ${ttlMs / 60_000} minutes).`);
      if (used.has(payload.nonce))
        throw refuse('This requestState was already used; each one answers one retry.');
      used.set(payload.nonce, payload.exp);
      const { exp: _e, nonce: _n, ...claims } = payload;
      return { ...claims, args: call.args };
    },
  };
}
