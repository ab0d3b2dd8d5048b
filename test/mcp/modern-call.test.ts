import { describe, expect, it } from 'vitest';
import { modernConsent, modernPages, modernRoots, type ModernCall } from '../../src/mcp/modern-call.js';
import { InputRequired, requestStates } from '../../src/mcp/round-trip.js';

// The consent, page and roots seams of a 2026-07-28 call (src/mcp/modern-call.ts): the first ask ends the call with
// input_required; a retry's answer counts only for the question (and the charge) its state was issued for.

const form = (message: string) => ({ mode: 'form', message });
const charge = { operation: 'modelslab.wallet.fund', amountUsd: 12 };

function newCall(
  capabilities: ModernCall['capabilities'] = { elicitation: { form: {} }, roots: {} },
): ModernCall {
  return { tool: 'modelslab_fund_wallet', args: 'd'.repeat(64), capabilities, states: requestStates() };
}

/** The InputRequired the first ask throws, then a call that retries it with `responses`. */
async function retried(first: ModernCall, ask: Promise<unknown>, responses: Record<string, unknown>) {
  const required = await ask.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(required).toBeInstanceOf(InputRequired);
  const { requestState } = required as InputRequired;
  const retry = { ...first, retry: { claims: first.states.redeem(requestState, first), responses } };
  return { retry, required: required as InputRequired };
}

describe('consent by round trip', () => {
  it('asks with a form showing the message, and takes a ticked accept for the same charge', async () => {
    const call = newCall();
    const consent = modernConsent(call, form);
    const { retry, required } = await retried(call, consent.ask('Approve a charge of $12.00 USD?', charge), {
      consent: { action: 'accept', content: { approve: true } },
    });
    expect(required.inputRequests).toEqual({
      consent: { method: 'elicitation/create', params: form('Approve a charge of $12.00 USD?') },
    });
    expect(await modernConsent(retry, form).ask('again', charge)).toBe('accept');
  });

  it('asks again when the retry meets another amount or operation, and never counts an answer twice', async () => {
    const call = newCall();
    const approved = { consent: { action: 'accept', content: { approve: true } } };
    const { retry } = await retried(call, modernConsent(call, form).ask('m', charge), approved);
    await expect(
      modernConsent({ ...retry }, form).ask('m', { ...charge, amountUsd: 13 }),
    ).rejects.toBeInstanceOf(InputRequired);
    await expect(
      modernConsent({ ...retry }, form).ask('m', { ...charge, operation: 'modelslab.subscribe' }),
    ).rejects.toBeInstanceOf(InputRequired);
    const consent = modernConsent(retry, form);
    expect(await consent.ask('m', charge)).toBe('accept');
    await expect(consent.ask('m', charge)).rejects.toBeInstanceOf(InputRequired);
  });

  it('reads an unticked accept as a decline, passes decline and cancel, and asks again for a malformed answer', async () => {
    for (const [answer, expected] of [
      [{ action: 'accept', content: { approve: false } }, 'decline'],
      [{ action: 'accept' }, 'decline'],
      [{ action: 'decline' }, 'decline'],
      [{ action: 'cancel' }, 'cancel'],
    ] as const) {
      const call = newCall();
      const { retry } = await retried(call, modernConsent(call, form).ask('m', charge), { consent: answer });
      expect(await modernConsent(retry, form).ask('m', charge)).toBe(expected);
    }
    const call = newCall();
    const { retry } = await retried(call, modernConsent(call, form).ask('m', charge), {
      consent: { action: 'ok' },
    });
    await expect(modernConsent(retry, form).ask('m', charge)).rejects.toBeInstanceOf(InputRequired);
  });

  it('can ask a client that declares form elicitation (or an empty elicitation), not one with URL only or none', () => {
    expect(modernConsent(newCall({ elicitation: {} }), form).canAsk()).toBe(true);
    expect(modernConsent(newCall({ elicitation: { form: {}, url: {} } }), form).canAsk()).toBe(true);
    expect(modernConsent(newCall({ elicitation: { url: {} } }), form).canAsk()).toBe(false);
    expect(modernConsent(newCall({}), form).canAsk()).toBe(false);
  });
});

describe('pages and roots by round trip', () => {
  it('asks to open a page by URL elicitation, then gives the answer of the retry', async () => {
    const call = newCall({ elicitation: { url: {} } });
    const pages = modernPages(call, new Map());
    expect(pages.canOpenUrl()).toBe(true);
    const { retry, required } = await retried(call, pages.openUrl('Type your key', 'http://127.0.0.1:1/p'), {
      page: { action: 'decline' },
    });
    expect(required.inputRequests.page).toEqual({
      method: 'elicitation/create',
      params: { mode: 'url', message: 'Type your key', url: 'http://127.0.0.1:1/p' },
    });
    expect(modernPages(retry, new Map()).answered?.()).toBe('decline');
    expect(modernPages(newCall(), new Map()).canOpenUrl()).toBe(false);
  });

  it('asks roots/list of a client that declares roots and reads the file URIs of the answer; none without roots', async () => {
    const call = newCall();
    const { retry, required } = await retried(call, modernRoots(call), {
      roots: { roots: [{ uri: 'file:///work/project', name: 'p' }, { name: 'no uri' }] },
    });
    expect(required.inputRequests).toEqual({ roots: { method: 'roots/list' } });
    expect(await modernRoots(retry)).toEqual(['file:///work/project']);
    expect(await modernRoots(newCall({}))).toEqual([]);
  });
});
