import { describe, expect, it } from 'vitest';
import { requestStates, STATE_TTL_MS, type StateClaims } from '../../src/mcp/round-trip.js';

// The requestState of a 2026-07-28 round trip is attacker-controlled input: signed, bound to its call, short-lived
// and good once (src/mcp/round-trip.ts).

const call = { tool: 'modelslab_fund_wallet', args: 'a'.repeat(64) };
const claims: StateClaims = {
  ...call,
  ask: 'consent',
  charge: { operation: 'modelslab.wallet.fund', micros: 10e6 },
};

function clock() {
  let t = 1_000_000;
  return { now: () => t, pass: (ms: number) => (t += ms) };
}

describe('requestState', () => {
  it('gives back the claims it was issued with, once', () => {
    const states = requestStates();
    const state = states.issue(claims);
    expect(states.redeem(state, call)).toEqual(claims);
    expect(() => states.redeem(state, call)).toThrow(/already used/);
  });

  it('carries the digest of the arguments keyed, so the client cannot test guesses of a card or a password', () => {
    const body = requestStates().issue(claims).split('.')[1]!;
    const text = Buffer.from(body, 'base64url').toString('utf8');
    expect(text).toContain('"args":');
    expect(text).not.toContain(call.args);
  });

  it('refuses a state whose payload or signature was changed, and one signed by another process', () => {
    const states = requestStates();
    const [v, body, mac] = states.issue(claims).split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const richer = Buffer.from(
      JSON.stringify({ ...payload, charge: { operation: 'x', micros: 1 } }),
    ).toString('base64url');
    expect(() => states.redeem(`${v}.${richer}.${mac}`, call)).toThrow(
      /not issued by this atelier-mcp process/,
    );
    expect(() => states.redeem(`${v}.${body}.${mac!.slice(0, -2)}AA`, call)).toThrow(/not issued/);
    expect(() => states.redeem('garbage', call)).toThrow(/not issued/);
    expect(() => requestStates().redeem(states.issue(claims), call)).toThrow(/not issued/);
  });

  it('refuses a state on another tool or other arguments', () => {
    const states = requestStates();
    expect(() => states.redeem(states.issue(claims), { ...call, tool: 'generate_image' })).toThrow(
      /belongs to another call/,
    );
    expect(() => states.redeem(states.issue(claims), { ...call, args: 'b'.repeat(64) })).toThrow(
      /belongs to another call/,
    );
  });

  it('expires after its time, and only then', () => {
    const c = clock();
    const states = requestStates({ now: c.now });
    const fresh = states.issue(claims);
    const old = states.issue(claims);
    c.pass(STATE_TTL_MS - 1);
    expect(states.redeem(fresh, call)).toEqual(claims);
    c.pass(1);
    expect(() => states.redeem(old, call)).toThrow(/expired.*Nothing was charged/s);
  });
});
