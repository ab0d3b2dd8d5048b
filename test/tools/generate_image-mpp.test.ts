import { readdirSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MODELS } from '../../src/sandbox/pixelmuse/catalog.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

/**
 * generate_image paying per image with MPP, through the MCP client, against the Pixelmuse emulator's MPP
 * seller and the Stripe emulator's SPTs: quote, confirmation, payment, receipt, ledger.
 */

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const MPP_ENV = { ATELIER_STRIPE_SECRET_KEY: 'rk_test_agent123', ATELIER_MPP_PAYMENT_METHOD: 'pm_card_visa' };

async function start(
  opts: { env?: Record<string, string>; apiKey?: string | null; elicit?: boolean | 'decline' } = {},
) {
  h = await startHarness({
    apiKey: opts.apiKey === undefined ? null : opts.apiKey,
    modelslabCredentials: {},
    env: opts.env ?? MPP_ENV,
    capabilities: opts.elicit ? { elicitation: {} } : {},
  });
  if (opts.elicit) {
    const answer = opts.elicit === 'decline' ? false : true;
    h.client.setRequestHandler(ElicitRequestSchema, () => ({
      action: 'accept',
      content: { approve: answer },
    }));
  }
  return { h, stripe: h.stripe };
}

const tokenOf = (text: string) => /confirmation_token: (ct_[A-Za-z0-9_-]+)/.exec(text)?.[1];
const paidPosts = (harness: Harness) =>
  harness.emulator.requests.filter((r) => r.headers['authorization']?.startsWith('Payment '));

describe('generate_image with payment "mpp"', () => {
  it('quotes the price first, pays only with the token, and returns the image with its receipt', async () => {
    const { h, stripe } = await start();
    const args = { prompt: 'a red kite', model: 'nano-banana-pro', payment: 'mpp' };
    const quote = await h.call('generate_image', args);
    expect(quote.isError).toBeFalsy();
    const quoteText = textOf(quote);
    expect(quoteText).toMatch(/Not charged yet: \$0\.40 USD/);
    expect(quoteText).toContain('pm_card_visa');
    expect(stripe.book.tokens.size).toBe(0);
    expect(paidPosts(h)).toHaveLength(0);

    const token = tokenOf(quoteText);
    expect(token).toBeDefined();
    // A token confirms only what it was quoted for.
    const other = await h.call('generate_image', {
      ...args,
      prompt: 'a blue kite',
      confirmation_token: token,
    });
    expect(other.isError).toBe(true);
    expect(textOf(other)).toMatch(/quoted for other arguments/);

    const paid = await h.call('generate_image', { ...args, confirmation_token: token });
    expect(paid.isError).toBeFalsy();
    const text = textOf(paid);
    const [intent] = [...stripe.book.paymentIntents.values()];
    expect(intent).toMatchObject({ amount: 40, status: 'succeeded' });
    expect(text).toContain(`Paid $0.40 with MPP (receipt ${intent!.id}`);
    expect(text).toContain('($0.40 charged)');
    const path = /^- (\/\S+\.png) /m.exec(text)?.[1];
    expect((await readFile(path!)).subarray(1, 4).toString()).toBe('PNG');
    expect(paid.content.some((c) => c.type === 'image')).toBe(true);
    const [spt] = [...stripe.book.tokens.values()];
    expect(spt?.usage_limits).toMatchObject({ currency: 'usd', max_amount: 40 });

    const report = textOf(await h.call('spend_report', {}));
    expect(report).toContain(`pixelmuse pixelmuse.mpp.generate $0.40 ${intent!.id}`);

    // The same token again does not pay twice.
    const again = await h.call('generate_image', { ...args, confirmation_token: token });
    expect(textOf(again)).toMatch(/^Already done/);
    expect(stripe.book.paymentIntents.size).toBe(1);
  });

  it('asks the human through elicitation when the client can, and pays nothing when declined', async () => {
    const declined = await start({ elicit: 'decline' });
    const no = await declined.h.call('generate_image', { prompt: 'a cat', payment: 'mpp' });
    expect(textOf(no)).toMatch(/^Not charged: the human declined the \$0\.10 charge/);
    expect(declined.stripe.book.tokens.size).toBe(0);
    await declined.h.close();

    const accepted = await start({ elicit: true });
    const yes = await accepted.h.call('generate_image', { prompt: 'a cat', payment: 'mpp' });
    expect(yes.isError).toBeFalsy();
    expect(textOf(yes)).toMatch(
      /Paid \$0\.10 with MPP \(receipt pi_test_\w+; approved by the human in the client\)/,
    );
  });

  it('is used automatically when no Pixelmuse key is configured', async () => {
    const { h } = await start({ elicit: true });
    const result = await h.call('generate_image', { prompt: 'a cat' });
    expect(textOf(result)).toContain('Paid $0.10 with MPP');
    expect(h.emulator.requests.some((r) => r.headers['authorization']?.startsWith('Bearer'))).toBe(false);
  });

  it('payment "mpp" goes to Pixelmuse even when ModelsLab is configured, and refuses provider "modelslab"', async () => {
    h = await startHarness({ apiKey: null, env: MPP_ENV });
    const refused = await h.call('generate_image', {
      prompt: 'a cat',
      payment: 'mpp',
      provider: 'modelslab',
    });
    expect(textOf(refused)).toMatch(/^Invalid input: payment "mpp" pays Pixelmuse only\./);
    const quote = await h.call('generate_image', { prompt: 'a cat', payment: 'mpp' });
    expect(textOf(quote)).toMatch(/Not charged yet: \$0\.10 USD/);
  });

  it('without payment settings, answers with the price and how to configure MPP or a key', async () => {
    const { h } = await start({ env: {} });
    const result = await h.call('generate_image', { prompt: 'a cat', model: 'recraft-v4-pro' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/^Not configured: Pixelmuse sells recraft-v4-pro for \$0\.70 per image with MPP/);
    expect(text).toContain('ATELIER_STRIPE_SECRET_KEY');
    expect(text).toContain('ATELIER_MPP_PAYMENT_METHOD');
    expect(text).toContain('PIXELMUSE_API_KEY');
    expect(h.emulator.requests.filter((r) => r.path === '/api/v1/images/generate')).toHaveLength(0);
  });

  it('treats a 5xx after the paid request as an unknown outcome: held, the same credential resent once, never a new SPT', async () => {
    const { h, stripe } = await start({ elicit: true });
    const args = { prompt: 'explode', model: 'imagen-3', payment: 'mpp' };
    const first = await h.call('generate_image', args);
    expect(first.isError).toBe(true);
    expect(textOf(first)).toMatch(/HTTP 500/);
    expect(textOf(first)).toContain('OUTCOME UNKNOWN');
    expect(textOf(first)).not.toContain('refunded automatically');
    expect(textOf(await h.call('spend_report', {}))).toMatch(/\$0\.10 outcome unknown since .*imagen-3/);
    const credentials = () => paidPosts(h).map((r) => r.headers['authorization']);

    const second = await h.call('generate_image', args);
    expect(second.isError).toBe(true);
    expect(textOf(second)).toContain('OUTCOME UNKNOWN');
    const third = await h.call('generate_image', args);
    expect(textOf(third)).toMatch(/already sent twice/);
    // One SPT for the one approved purchase; its credential went out twice and no more.
    expect(stripe.book.tokens.size).toBe(1);
    expect(credentials()).toHaveLength(2);
    expect(new Set(credentials()).size).toBe(1);
    const report = textOf(await h.call('spend_report', {}));
    expect(report).toContain('No charges in the last 30 day(s)');
    expect(report).toMatch(/\$0\.10 held/);
  });

  it('"Already done" after a death between booking and releasing the hold replays the paid answer and saves the image', async () => {
    // The hold as it stood while the paid request was at the emulator (read when the seller checks the clock).
    let kept: [string, string] | undefined;
    const holds = () => join(h!.home, 'spend', 'idempotency');
    const capture = () => {
      if (!h) return;
      for (const file of readdirSync(holds()).filter((f) => /^[^.].*\.json$/.test(f))) {
        const text = readFileSync(join(holds(), file), 'utf8');
        if (text.includes('"payment"')) kept = [file, text];
      }
    };
    h = await startHarness({
      apiKey: null,
      modelslabCredentials: {},
      env: MPP_ENV,
      emulator: { mpp: { now: () => (capture(), Date.now()) } },
    });
    const args = { prompt: 'a red kite', model: 'flux-schnell', payment: 'mpp' };
    const token = tokenOf(textOf(await h.call('generate_image', args)));
    const paid = textOf(await h.call('generate_image', { ...args, confirmation_token: token }));
    expect(paid).toMatch(/Paid \$0\.10 with MPP/);
    // The server that paid died after the ledger line, before it released the hold: the hold is back, unowned.
    const [file, text] = kept!;
    const { owner: _, ...orphan } = JSON.parse(text) as Record<string, unknown>;
    await writeFile(join(holds(), file), JSON.stringify(orphan));

    const again = await h.call('generate_image', { ...args, confirmation_token: token });
    const againText = textOf(again);
    expect(againText).toMatch(/^Already done: /);
    expect(againText).toContain('Pixelmuse replayed the paid answer');
    const path = /^- (\/\S+\.png) /m.exec(againText)?.[1];
    expect((await readFile(path!)).subarray(1, 4).toString()).toBe('PNG');
    expect(again.content.some((c) => c.type === 'image')).toBe(true);
    // One payment, its credential sent twice (the second a replay), and no more after.
    const third = textOf(await h.call('generate_image', { ...args, confirmation_token: token }));
    expect(third).toMatch(/^Already done: /);
    expect(third).not.toContain('replayed');
    expect(h.stripe.book.paymentIntents.size).toBe(1);
    expect(h.stripe.book.tokens.size).toBe(1);
    const credentials = paidPosts(h).map((r) => r.headers['authorization']);
    expect(credentials).toHaveLength(2);
    expect(new Set(credentials).size).toBe(1);
    expect((await readFile(join(h.home, 'spend', 'ledger.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(
      1,
    );
  });

  it('a token covers the price the human saw: raised to $40 after the quote, it gets a new quote and pays nothing', async () => {
    const { h, stripe } = await start();
    const args = { prompt: 'a red kite', model: 'flux-schnell', payment: 'mpp' };
    const token = tokenOf(textOf(await h.call('generate_image', args)));
    const model = MODELS.find((m) => m.id === 'flux-schnell')!;
    const was = model.credit_cost;
    model.credit_cost = 400;
    try {
      const raised = await h.call('generate_image', { ...args, confirmation_token: token });
      expect(raised.isError).toBeFalsy();
      expect(textOf(raised)).toMatch(
        /^The price changed: \$0\.10 was approved, .* now costs \$40\.00\. Nothing was charged\./,
      );
      expect(tokenOf(textOf(raised))).not.toBe(token);
      expect(stripe.book.tokens.size).toBe(0);
      expect(paidPosts(h)).toHaveLength(0);
    } finally {
      model.credit_cost = was;
    }
  });

  it('a challenge asking more than the approved price is refused before any SPT is minted', async () => {
    const { h, stripe } = await start();
    const args = { prompt: 'a red kite', model: 'flux-schnell', payment: 'mpp' };
    const token = tokenOf(textOf(await h.call('generate_image', args)));
    const model = MODELS.find((m) => m.id === 'flux-schnell')!;
    const was = model.credit_cost;
    // The list still says $0.10; the challenge the emulator issues asks $40.
    h.emulator.inject({
      path: '/api/v1/pricing',
      rewrite: (body) => ({
        ...body,
        models: (body.models as Array<Record<string, unknown>>).map((m) =>
          m.model === 'flux-schnell' ? { ...m, price_cents: 10, price_usd: 0.1 } : m,
        ),
      }),
      times: 5,
    });
    model.credit_cost = 400;
    try {
      const result = await h.call('generate_image', { ...args, confirmation_token: token });
      expect(result.isError).toBe(true);
      expect(textOf(result)).toMatch(/\$40\.00/);
      expect(stripe.book.tokens.size).toBe(0);
      expect(paidPosts(h)).toHaveLength(0);
    } finally {
      model.credit_cost = was;
    }
  });

  it.each<[unknown, RegExp]>([
    [0.4, /^Not charged yet: \$0\.004 USD/],
    ['0.4', /^Not charged yet: \$0\.004 USD/],
    ['1e9', /ATELIER_MAX_USD_PER_CALL/],
    [-100000, /not a price; nothing was paid/],
    [0, /not a price; nothing was paid/],
    ['abc', /not a price; nothing was paid/],
  ])(
    'a listed price of %s needs consent or is refused, never paid without a quote',
    async (cents, expected) => {
      const { h, stripe } = await start();
      h.emulator.inject({
        path: '/api/v1/pricing',
        rewrite: (body) => ({
          ...body,
          models: (body.models as Array<Record<string, unknown>>).map((m) =>
            m.model === 'flux-schnell' ? { ...m, price_cents: cents } : m,
          ),
        }),
      });
      const result = await h.call('generate_image', {
        prompt: 'a kite',
        model: 'flux-schnell',
        payment: 'mpp',
      });
      expect(textOf(result)).toMatch(expected);
      expect(stripe.book.tokens.size).toBe(0);
      expect(paidPosts(h)).toHaveLength(0);
    },
  );

  it('keeps the key path with payment "account" and refuses a confirmation_token there', async () => {
    h = await startHarness({ env: MPP_ENV });
    const result = await h.call('generate_image', { prompt: 'a cat', confirmation_token: 'ct_abcdefghijkl' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/confirmation_token is only for payment "mpp"/);
    const ok = await h.call('generate_image', { prompt: 'a cat', payment: 'account', model: 'imagen-3' });
    expect(ok.isError).toBeFalsy();
    expect(textOf(ok)).toMatch(/1 credit charged/);
    expect(h.emulator.requests.some((r) => r.headers['authorization']?.startsWith('Payment'))).toBe(false);
  });
});
