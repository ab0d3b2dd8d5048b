import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { NetworkError, ProviderError, SpendRefusedError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import {
  openSpendBook,
  type ChargeOutcome,
  type ChargeRequest,
  type Consent,
  type ConsentAnswer,
} from '../../src/spend/index.js';
import { spendDir } from '../../src/spend/home.js';
import { removeHome } from './kit.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'atelier-spend-'));
});
afterEach(async () => {
  await removeHome(home);
});

function configWith(over: Partial<Config> = {}): Config {
  return { ...loadConfig({}, {}, home), home, ...over };
}

/** A book as a fresh process would open it over the same ATELIER_HOME. */
function book(config: Config, now?: () => number) {
  return openSpendBook(config, silentLogger, { now });
}

const noElicitation: Consent = {
  canAsk: () => false,
  ask: () => Promise.reject(new Error('must not ask')),
  canOpenUrl: () => false,
  openUrl: () => Promise.reject(new Error('must not open')),
};

function humanSays(answer: ConsentAnswer, asked: string[] = []): Consent {
  return {
    ...noElicitation,
    canAsk: () => true,
    ask: async (message) => {
      asked.push(message);
      return answer;
    },
  };
}

/** A provider that charges once per new key and replays a key it has seen. */
function fakeProvider() {
  const charges = new Map<string, string>();
  const keys: string[] = [];
  return {
    keys,
    charges,
    send(amountUsd: number) {
      return async (key: string): Promise<ChargeOutcome<string>> => {
        keys.push(key);
        const replay = charges.has(key);
        if (!replay) charges.set(key, `pi_${charges.size + 1}`);
        return {
          kind: 'confirmed',
          reference: charges.get(key)!,
          reportedUsd: amountUsd,
          replay,
          value: 'ok',
        };
      };
    },
  };
}

function fund(amountUsd: number, send: ChargeRequest<string>['send'], token?: string): ChargeRequest<string> {
  return {
    provider: 'modelslab',
    operation: 'modelslab.wallet.fund',
    tool: 'modelslab_fund_wallet',
    amountUsd,
    args: { amount_usd: amountUsd, payment_method_id: 'pm_card' },
    what: `add $${amountUsd} to the ModelsLab wallet`,
    paymentMethod: 'Visa •••• 4242 (pm_card)',
    confirmationToken: token,
    send,
  };
}

function tokenOf(text: string): string {
  const m = /^confirmation_token: (ct_\S+)$/m.exec(text);
  expect(m, text).not.toBeNull();
  return m![1]!;
}

async function ledgerLines(config: Config): Promise<string[]> {
  const text = await readFile(join(spendDir(config), 'ledger.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

describe('spend: consent by quote and confirmation token', () => {
  it('quotes first, charges only on the second call with the token, and never twice', async () => {
    const config = configWith();
    const provider = fakeProvider();
    const spend = book(config).withConsent(noElicitation);
    const quote = await spend.charge(fund(25, provider.send(25)));
    expect(quote.status).toBe('quote');
    const text = quote.status === 'quote' ? quote.text : '';
    expect(text).toContain('$25.00');
    expect(text).toContain('Visa •••• 4242');
    expect(text).toContain('modelslab_fund_wallet');
    expect(provider.keys).toHaveLength(0);

    const token = tokenOf(text);
    const done = await spend.charge(fund(25, provider.send(25), token));
    expect(done).toMatchObject({ status: 'done', outcome: { kind: 'confirmed', reference: 'pi_1' } });
    const again = await spend.charge(fund(25, provider.send(25), token));
    expect(again).toMatchObject({ status: 'already_done', reference: 'pi_1' });
    expect(provider.keys).toHaveLength(1);
    const lines = await ledgerLines(config);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      provider: 'modelslab',
      operation: 'modelslab.wallet.fund',
      amount: 25,
      currency: 'USD',
      reference: 'pi_1',
      replay: false,
    });
  });

  it('sends once when the same token is confirmed twice at the same time', async () => {
    const provider = fakeProvider();
    const spend = book(configWith()).withConsent(noElicitation);
    const quote = await spend.charge(fund(25, provider.send(25)));
    const token = tokenOf(quote.status === 'quote' ? quote.text : '');
    const slow = async (key: string) => {
      await sleep(30);
      return provider.send(25)(key);
    };
    const results = await Promise.all([
      spend.charge(fund(25, slow, token)),
      spend.charge(fund(25, slow, token)),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['already_done', 'done']);
    expect(provider.keys).toHaveLength(1);
  });

  it('refuses a token reused with other arguments, an unknown token and an expired one', async () => {
    let now = Date.parse('2026-11-30T10:00:00Z');
    const provider = fakeProvider();
    const spend = book(configWith(), () => now).withConsent(noElicitation);
    const quote = await spend.charge(fund(25, provider.send(25)));
    const token = tokenOf(quote.status === 'quote' ? quote.text : '');
    await expect(spend.charge(fund(50, provider.send(50), token))).rejects.toThrow(
      /quoted for other arguments/,
    );
    await expect(spend.charge(fund(25, provider.send(25), 'ct_madeupmadeupmadeup'))).rejects.toBeInstanceOf(
      SpendRefusedError,
    );
    now += 10 * 60 * 1000 + 1;
    await expect(spend.charge(fund(25, provider.send(25), token))).rejects.toThrow(/expired/);
    expect(provider.keys).toHaveLength(0);
  });

  it('burns the token when the provider refuses the charge, and forgets the key', async () => {
    const config = configWith();
    const spend = book(config).withConsent(noElicitation);
    const quote = await spend.charge(fund(25, async () => 'unused' as never));
    const token = tokenOf(quote.status === 'quote' ? quote.text : '');
    const declined = new ProviderError({
      provider: 'modelslab',
      status: 402,
      code: 'payment_declined',
      message: 'no',
    });
    await expect(spend.charge(fund(25, () => Promise.reject(declined), token))).rejects.toBe(declined);
    await expect(spend.charge(fund(25, fakeProvider().send(25), token))).rejects.toThrow(
      /refused that charge/,
    );
    expect(await readdir(join(spendDir(config), 'idempotency')).catch(() => [])).toEqual([]);
    expect(await ledgerLines(config)).toHaveLength(0);
  });

  it('finishes a confirmed charge after a crash with the same key: one charge, one ledger line, marked replay', async () => {
    const config = configWith();
    const provider = fakeProvider();
    const first = book(config).withConsent(noElicitation);
    const quote = await first.charge(fund(25, provider.send(25)));
    const token = tokenOf(quote.status === 'quote' ? quote.text : '');
    // The request reaches the provider, which charges; the answer is lost.
    const lost = async (key: string) => {
      await provider.send(25)(key);
      throw new NetworkError('modelslab', 'socket hang up');
    };
    await expect(first.charge(fund(25, lost, token))).rejects.toBeInstanceOf(NetworkError);
    expect(await ledgerLines(config)).toHaveLength(0);

    const restarted = book(config).withConsent(noElicitation);
    const done = await restarted.charge(fund(25, provider.send(25), token));
    expect(done).toMatchObject({ status: 'done', outcome: { replay: true, reference: 'pi_1' } });
    expect(new Set(provider.keys).size).toBe(1);
    expect(provider.charges.size).toBe(1);
    const lines = await ledgerLines(config);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ reference: 'pi_1', replay: true });
  });
});

describe('spend: consent by elicitation and auto-approval', () => {
  it('asks the human with amount, purchase and payment method; charges only on accept', async () => {
    const provider = fakeProvider();
    const asked: string[] = [];
    const declined = await book(configWith())
      .withConsent(humanSays('decline', asked))
      .charge(fund(25, provider.send(25)));
    expect(declined.status).toBe('declined');
    expect(provider.keys).toHaveLength(0);
    expect(asked[0]).toMatch(/\$25\.00[\s\S]*add \$25 to the ModelsLab wallet[\s\S]*Visa •••• 4242/);

    const accepted = await book(configWith())
      .withConsent(humanSays('accept'))
      .charge(fund(25, provider.send(25)));
    expect(accepted).toMatchObject({ status: 'done', consent: 'approved by the human in the client' });
    expect(provider.keys).toHaveLength(1);
  });

  it('lets charges at or under ATELIER_AUTO_APPROVE_USD through without asking', async () => {
    const provider = fakeProvider();
    const spend = book(configWith({ autoApproveUsd: 10 })).withConsent(noElicitation);
    expect((await spend.charge(fund(10, provider.send(10)))).status).toBe('done');
    expect((await spend.charge(fund(10.01, provider.send(10.01)))).status).toBe('quote');
    expect(provider.keys).toHaveLength(1);
  });
});

describe('spend: caps', () => {
  it('refuses above the per-call cap before anything is sent or quoted', async () => {
    const provider = fakeProvider();
    const spend = book(configWith({ maxUsdPerCall: 20 })).withConsent(humanSays('accept'));
    await expect(spend.charge(fund(20.01, provider.send(20.01)))).rejects.toThrow(/ATELIER_MAX_USD_PER_CALL/);
    expect(provider.keys).toHaveLength(0);
  });

  it('holds the daily cap under 10 concurrent charges', async () => {
    const config = configWith({ maxUsdPerCall: 15, maxUsdPerDay: 100, autoApproveUsd: 50 });
    const provider = fakeProvider();
    const spend = book(config).withConsent(noElicitation);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        spend.charge({
          ...fund(15, async (key) => {
            await sleep(20);
            return provider.send(15)(key);
          }),
          args: { amount_usd: 15, payment_method_id: 'pm_card', n: i },
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(6);
    expect(refused).toHaveLength(4);
    for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SpendRefusedError);
    expect(provider.charges.size).toBe(6);
    const total = (await ledgerLines(config)).reduce(
      (s, l) => s + (JSON.parse(l) as { amount: number }).amount,
      0,
    );
    expect(total).toBe(90);
    expect(await spend.today()).toMatchObject({ spentUsd: 90, heldUsd: 0 });
  });

  it('holds a 3-D Secure payment against the cap until it resolves, then records it', async () => {
    const config = configWith({ maxUsdPerDay: 40, autoApproveUsd: 50, maxUsdPerCall: 40 });
    const spend = book(config).withConsent(noElicitation);
    const pending = await spend.charge(
      fund(25, async () => ({ kind: 'action_required', reference: 'pi_3ds', value: 'requires_action' })),
    );
    expect(pending).toMatchObject({ status: 'done', outcome: { kind: 'action_required' }, entry: undefined });
    expect(await ledgerLines(config)).toHaveLength(0);
    expect(await spend.today()).toMatchObject({ spentUsd: 0, heldUsd: 25 });
    await expect(spend.checkCaps(20)).rejects.toThrow(/daily cap/);
    const resolved = await spend.resolvePending('pi_3ds', true);
    expect(resolved?.entry).toMatchObject({ reference: 'pi_3ds', amount: 25 });
    expect(await spend.resolvePending('pi_3ds', true)).toBeUndefined();
    expect(await spend.today()).toMatchObject({ spentUsd: 25, heldUsd: 0 });
  });

  it('refuses a per-call cap above the per-day cap at start', () => {
    expect(() => loadConfig({}, { ATELIER_MAX_USD_PER_CALL: '200', ATELIER_MAX_USD_PER_DAY: '100' })).toThrow(
      /ATELIER_MAX_USD_PER_CALL \(200\) is above ATELIER_MAX_USD_PER_DAY \(100\)/,
    );
  });
});
