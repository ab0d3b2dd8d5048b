import type { ToolContext, ToolOutput } from '../../context.js';
import { ConfigurationError, ProviderError, UserInputError } from '../../errors.js';
import { generate } from '../../generation/engine.js';
import { reportOutcomes } from '../../generation/report.js';
import type { Target } from '../../media/index.js';
import { holdSecret } from '../../redact.js';
import { positivePrice, usd } from '../../spend/money.js';
import { MPP_SETUP_NEXT } from '../mpp-settings.js';
import { SptMinter } from '../stripe.js';
import { pixelmuseAdapter, toJob } from './generation.js';
import { buyImage, formatAmount, type MppPurchase, type SentPayment } from './mpp.js';
import type { CreateImageRequest } from './types.js';

export const MPP_OPERATION = 'pixelmuse.mpp.generate';

/**
 * generate_image paid per image with MPP, through src/spend/ like every other charge: the price comes from
 * /api/v1/pricing, the human approves it (form or confirmation_token), and only then does buyImage ask for
 * the challenge, mint a token for exactly it and pay. The ledger gets the PaymentIntent from the receipt.
 */
export async function generateWithMpp(
  ctx: ToolContext,
  body: CreateImageRequest,
  opts: {
    /** The tool's arguments without confirmation_token: what the consent covers. */
    args: Record<string, unknown>;
    confirmationToken?: string;
    count: number;
    deadline: number;
    target: Target;
    preview: boolean;
  },
): Promise<ToolOutput> {
  if (opts.count !== 1) {
    throw new UserInputError('MPP buys one image per call (each image is its own payment).', {
      next: 'Call generate_image once per image with payment: "mpp", or use a Pixelmuse key for batches.',
    });
  }
  const pricing = await ctx.pixelmuse.getPricing(ctx.signal);
  const listed = pricing.models.find((m) => m.model === body.model);
  if (!listed) {
    throw new UserInputError(`Pixelmuse lists no MPP price for model "${body.model}".`, {
      next: 'Call get_pricing for the models and prices, then call again with one of them.',
    });
  }
  const priceCents = positivePrice(listed.price_cents);
  if (priceCents === undefined) {
    throw new ProviderError({
      provider: 'pixelmuse',
      code: 'unexpected_response',
      message: `Pixelmuse lists ${body.model} at ${JSON.stringify(listed.price_cents).slice(0, 40)} cents, which is not a price; nothing was paid.`,
      next: 'Call get_pricing again later, or use a Pixelmuse key (payment: "account").',
    });
  }
  const price = formatAmount(priceCents, 'usd');
  const { settings, problem } = ctx.mpp;
  if (!settings) {
    throw new ConfigurationError(
      `Pixelmuse sells ${body.model} for ${price} per image with MPP, but MPP payment is not configured.`,
      { facts: problem ? [problem] : [], next: MPP_SETUP_NEXT },
    );
  }
  const minter = new SptMinter(settings, ctx.log);
  const amountUsd = priceCents / 100;
  const result = await ctx.spend.charge<MppPurchase>({
    provider: 'pixelmuse',
    operation: MPP_OPERATION,
    tool: 'generate_image',
    amountUsd,
    args: opts.args,
    what: `one ${body.model} image from Pixelmuse, paid per image with MPP (no account)`,
    paymentMethod: `${settings.paymentMethod} through a Stripe Shared Payment Token limited to ${price}`,
    confirmationToken: opts.confirmationToken,
    async send(idempotencyKey, attempt) {
      ctx.progress(`Paying Pixelmuse ${price} with MPP for ${body.model}`);
      const bought = await buyImage(ctx.pixelmuse, body, {
        idempotencyKey,
        pricing: pricing.models,
        approvedMinor: attempt.approvedUsd * 100,
        earlier: sentPayment(attempt.memo),
        remember: (sent) => attempt.remember({ ...sent }),
        mint: (offer, signal) => minter.mint(offer, signal),
      });
      const reference = bought.reference ?? `mpp:${idempotencyKey.slice(-12)}`;
      if (bought.kind === 'refunded') return { kind: 'refunded', reference, value: bought };
      return {
        kind: 'confirmed',
        reference,
        ...(bought.amountMinor !== undefined ? { reportedUsd: bought.amountMinor / 100 } : {}),
        replay: bought.replayed,
        value: bought,
      };
    },
  });
  if (result.status === 'quote' || result.status === 'declined') return result.text;
  if (result.status === 'already_done') {
    const replayed = result.earlier && (await replayBooked(result.earlier));
    if (!replayed) return result.text;
    return save(replayed, result.entry?.amount ?? amountUsd, (report) => [
      result.text,
      'Pixelmuse replayed the paid answer (same Idempotency-Key and credential): the image it sold is saved now.',
      report,
    ]);
  }
  const { outcome } = result;
  const bought = outcome.value;
  if (bought.kind === 'refunded') throw bought.error;
  const paidUsd = result.entry?.amount ?? amountUsd;
  const receipt = bought.reference ? `receipt ${bought.reference}` : 'no receipt returned';
  return save(bought, paidUsd, (report) => [
    report,
    `Paid ${usd(paidUsd)} with MPP (${receipt}; ${result.consent}); it is in the ledger (spend_report).`,
  ]);

  /**
   * A charge booked by a server that died before it saved the image: its kept credential is sent once more
   * with its key, and Pixelmuse's replay carries the image. Anything but a paid replay leaves it unrecovered.
   */
  async function replayBooked(earlier: {
    idempotencyKey: string;
    memo: Record<string, unknown>;
  }): Promise<(MppPurchase & { kind: 'paid' }) | undefined> {
    const sent = sentPayment(earlier.memo);
    if (!sent) return undefined;
    try {
      const bought = await buyImage(ctx.pixelmuse, body, {
        idempotencyKey: earlier.idempotencyKey,
        approvedMinor: Math.round(amountUsd * 100),
        earlier: sent,
        // Booked already: the hold that kept the credential is gone, and nothing new is ever minted here.
        remember: async () => {},
        mint: () => Promise.reject(new Error('a booked MPP charge is never paid again')),
      });
      return bought.kind === 'paid' ? bought : undefined;
    } catch (error) {
      ctx.log.warn(`generate_image: the booked MPP charge's image could not be replayed: ${String(error)}`);
      return undefined;
    }
  }

  /** The image is already made (MPP answers synchronously): the engine only saves it and keeps its id. */
  async function save(
    bought: MppPurchase & { kind: 'paid' },
    paidUsd: number,
    text: (report: string) => string[],
  ): Promise<ToolOutput> {
    const job = { ...toJob(bought.image), cost: { usd: paidUsd } };
    const adapter = {
      ...pixelmuseAdapter(ctx.pixelmuse),
      submit: async () => ({ job, replayed: bought.replayed }),
    };
    const settled = await generate(ctx, adapter, body, {
      count: 1,
      deadline: opts.deadline,
      target: opts.target,
      model: body.model,
      preview: opts.preview,
    });
    const report = await reportOutcomes(settled, {
      media: ctx.media,
      generations: ctx.generations,
      preview: opts.preview,
    });
    const [first, ...rest] = report;
    return first?.type === 'text' ? [{ type: 'text', text: text(first.text).join('\n') }, ...rest] : report;
  }
}

/** The credential an earlier send of this purchase kept with its charge (src/spend/), if any. */
function sentPayment(memo: Record<string, unknown> | undefined): SentPayment | undefined {
  const payment = memo?.payment as { header?: unknown; value?: unknown } | undefined;
  if (typeof payment?.header !== 'string' || typeof payment.value !== 'string') return undefined;
  // Read back after a restart: the credential it will resend is masked like the one first built.
  holdSecret(payment.value.replace(/^Payment\s+/, ''));
  return { payment: { header: payment.header, value: payment.value }, sends: Number(memo?.sends) || 1 };
}
