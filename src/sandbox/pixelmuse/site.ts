import { ApiError, escapeHtml, html, json, safeDecode, write, type Exchange } from '../core/exchange.js';
import { hex, type EmulatorServer } from '../core/server.js';
import { PACKAGES } from './catalog.js';
import type { createImages, PixelmuseExchange } from './images.js';

const CHECKOUT_TTL_MS = 24 * 60 * 60 * 1000;

interface Checkout {
  id: string;
  pkg: (typeof PACKAGES)[number];
  expiresMs: number;
  paid: boolean;
}

/** What lives outside /api: the CDN that serves finished images, and the local checkout page. */
export function createSite(opts: {
  server: EmulatorServer;
  now: () => number;
  account: { credits: number };
  images: ReturnType<typeof createImages>;
}) {
  const { server, now, account, images } = opts;
  const checkouts = new Map<string, Checkout>();

  const createCheckout = (ctx: PixelmuseExchange) => {
    const body = images.parseJson(ctx);
    const pkg = PACKAGES.find((p) => p.name === body['package']);
    if (!pkg) {
      throw new ApiError(
        400,
        'invalid_request_error',
        `package must be one of: ${PACKAGES.map((p) => p.name).join(', ')}.`,
      );
    }
    const id = `cs_test_${hex(16)}`;
    const expiresMs = now() + CHECKOUT_TTL_MS;
    checkouts.set(id, { id, pkg, expiresMs, paid: false });
    json(ctx, 201, {
      checkout_url: `${server.url}/checkout/${id}`,
      session_id: id,
      package: {
        name: pkg.name,
        label: pkg.label,
        credits: pkg.credits,
        bonus_credits: pkg.bonus_credits,
        price_usd: pkg.price_usd,
      },
      expires_at: new Date(expiresMs).toISOString(),
    });
  };

  const handleSite = async (ctx: Exchange): Promise<boolean> => {
    const cdn = /^\/cdn\/([^/]+)\/0\.png$/.exec(ctx.path);
    if (cdn && ctx.method === 'GET') {
      const record = images.byId.get(safeDecode(cdn[1] ?? ''));
      if (!record || record.deleted || record.status !== 'succeeded') {
        write(ctx, 404, { 'X-Request-ID': ctx.requestId, 'Content-Type': 'text/plain' }, 'Not found');
        return true;
      }
      const png = await images.pngOf(record);
      write(
        ctx,
        200,
        { 'X-Request-ID': ctx.requestId, 'Content-Type': 'image/png', 'Content-Length': String(png.length) },
        png,
      );
      return true;
    }

    const page = /^\/checkout\/([^/]+)$/.exec(ctx.path);
    if (page && (ctx.method === 'GET' || ctx.method === 'POST')) {
      const session = checkouts.get(safeDecode(page[1] ?? ''));
      if (!session) {
        html(ctx, 404, 'Not found', '<h1>Checkout session not found</h1>');
        return true;
      }
      const { pkg } = session;
      const price = `$${pkg.price_usd.toFixed(2)}`;
      const credited = pkg.credits + pkg.bonus_credits;
      if (session.paid) {
        html(
          ctx,
          200,
          'Paid',
          `<h1>Paid</h1><p>This session is already paid; no credits were added again.</p>`,
        );
      } else if (now() > session.expiresMs) {
        html(ctx, 410, 'Expired', '<h1>Checkout session expired</h1>');
      } else if (ctx.method === 'GET') {
        html(
          ctx,
          200,
          'Sandbox checkout',
          `<h1>atelier-mcp sandbox checkout</h1>` +
            `<p>This is the sandbox checkout. No real money moves.</p>` +
            `<p>${escapeHtml(pkg.label)}: ${credited} credits for ${price}.</p>` +
            `<form method="post" action="/checkout/${escapeHtml(session.id)}"><button type="submit">Pay ${price}</button></form>`,
        );
      } else {
        session.paid = true;
        account.credits += credited;
        html(
          ctx,
          200,
          'Paid',
          `<h1>Paid</h1><p>${credited} credits were added. You can close this page.</p>`,
        );
      }
      return true;
    }
    return false;
  };

  return { createCheckout, handleSite };
}
