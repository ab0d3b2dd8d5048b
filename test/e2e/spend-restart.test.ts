import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SANDBOX_MODELSLAB_TOKEN,
  startModelslabEmulator,
  startStripeEmulator,
  type ModelslabEmulator,
  type StripeEmulator,
} from '../../src/sandbox/index.js';
import { BIN, cleanEnv, connectBin, requireBuiltBin, type BinSession } from '../helpers/spawn.js';

let stripe: StripeEmulator;
let modelslab: ModelslabEmulator;
let home: string;

beforeAll(async () => {
  requireBuiltBin();
  stripe = await startStripeEmulator();
  modelslab = await startModelslabEmulator({ stripe });
  home = await mkdtemp(join(tmpdir(), 'atelier-restart-'));
});
afterAll(async () => {
  await Promise.all([modelslab?.close(), stripe?.close()]);
  if (home) await rm(home, { recursive: true, force: true });
});

const VISA = { number: '4242424242424242', exp_month: 12, exp_year: 2034, cvc: '7319' };

/** A real server process, as a client would start it, against emulators that outlive it. */
function server(): Promise<BinSession> {
  return connectBin({
    args: [BIN],
    env: cleanEnv({
      MODELSLAB_BASE_URL: modelslab.url,
      STRIPE_API_BASE: stripe.url,
      MODELSLAB_TOKEN: SANDBOX_MODELSLAB_TOKEN,
      ATELIER_HOME: home,
      ATELIER_CREDENTIAL_STORE: 'file',
      ATELIER_LOG_LEVEL: 'debug',
    }),
  });
}

const text = (r: unknown) =>
  (r as CallToolResult).content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

describe('a server killed between sending a fund and reading its answer', () => {
  it('replays on restart: one charge, one ledger line, and no card data anywhere', async () => {
    const first = await server();
    const seen: string[] = [];
    const call = async (s: BinSession, args: Record<string, unknown>, name = 'modelslab_fund_wallet') => {
      const out = text(await s.client.callTool({ name, arguments: args }));
      seen.push(out);
      return out;
    };
    await call(first, { card: VISA }, 'modelslab_add_payment_method');
    const quote = await call(first, { amount_usd: 25 });
    const token = /^confirmation_token: (ct_\S+)$/m.exec(quote)![1]!;

    // ModelsLab charges, then the answer never comes: the server is killed while it waits.
    modelslab.billing.hold('/api/agents/v1/wallet/fund');
    const pending = first.client.callTool({
      name: 'modelslab_fund_wallet',
      arguments: { amount_usd: 25, confirmation_token: token },
    });
    pending.catch(() => undefined);
    const user = modelslab.accounts.users[0]!;
    while (user.walletUsd === 25) await new Promise((r) => setTimeout(r, 20));
    const firstKey = modelslab.requests.filter((r) => r.path === '/api/agents/v1/wallet/fund').at(-1)!
      .headers['idempotency-key'];
    process.kill(first.transport.pid!, 'SIGKILL');
    await first.close().catch(() => undefined);
    expect(user.walletUsd).toBe(50);
    expect(await readFile(join(home, 'spend', 'ledger.jsonl'), 'utf8').catch(() => '')).toBe('');

    const second = await server();
    try {
      const done = await call(second, { amount_usd: 25, confirmation_token: token });
      expect(done).toMatch(/^Funded the ModelsLab wallet with \$25\.00/);
      expect(done).toContain('charged once, not twice');
      const funds = modelslab.requests.filter((r) => r.path === '/api/agents/v1/wallet/fund');
      expect(funds).toHaveLength(2);
      expect(funds[1]!.headers['idempotency-key']).toBe(firstKey);
      expect(user.walletUsd).toBe(50);
      const lines = (await readFile(join(home, 'spend', 'ledger.jsonl'), 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({
        amount: 25,
        replay: true,
        operation: 'modelslab.wallet.fund',
      });
      seen.push(await call(second, {}, 'spend_report'));

      // Searched, not assumed: results, the log of both processes, and every file under ATELIER_HOME.
      const secrets = [
        VISA.number,
        '4242 4242 4242 4242',
        VISA.cvc,
        SANDBOX_MODELSLAB_TOKEN,
        token,
        firstKey!,
      ];
      const files = await filesUnder(home);
      const haystacks: Array<[string, string]> = [
        ...seen.map((s, i) => [`result ${i}`, s] as [string, string]),
        ['stderr of the first server', first.stderr.join('\n')],
        ['stderr of the second server', second.stderr.join('\n')],
        ...(await Promise.all(
          files
            .filter((f) => !f.endsWith('credentials.json'))
            .map(async (f) => [f, await readFile(f, 'utf8')] as [string, string]),
        )),
      ];
      expect(files.some((f) => f.endsWith('ledger.jsonl'))).toBe(true);
      for (const [where, haystack] of haystacks) {
        for (const secret of secrets) {
          // The token is meant to be in the quote the agent reads; nowhere else.
          if (secret === token && where === 'result 1') continue;
          expect(haystack.includes(secret), `${where} contains a secret`).toBe(false);
        }
      }
    } finally {
      await second.close();
    }
  }, 60_000);
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}
