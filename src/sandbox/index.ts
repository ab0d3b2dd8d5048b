import {
  startPixelmuseEmulator,
  type PixelmuseEmulator,
  type PixelmuseEmulatorOptions,
} from './pixelmuse.js';
import { startStripeSptEmulator, type StripeSptEmulator } from './stripe/spt.js';

export { SANDBOX_PIXELMUSE_KEY } from './pixelmuse.js';
export { SANDBOX_PAYMENT_METHOD, SANDBOX_STRIPE_KEY } from './stripe/spt.js';
export type { Fault, PixelmuseEmulator, PixelmuseEmulatorOptions, RecordedRequest } from './pixelmuse.js';

export interface SandboxOptions {
  pixelmuse?: PixelmuseEmulatorOptions;
}

/** Local stand-ins for every provider, used by `--sandbox` and by the test suite. */
export interface Sandbox {
  pixelmuse: PixelmuseEmulator;
  stripe: StripeSptEmulator;
  urls: { pixelmuse: string; stripe: string };
  close(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const stripe = await startStripeSptEmulator();
  // The sandbox Pixelmuse settles MPP payments with the SPTs the sandbox Stripe minted.
  const pixelmuse = await startPixelmuseEmulator({
    ...opts.pixelmuse,
    mpp: { stripe: stripe.book, ...opts.pixelmuse?.mpp },
  });
  return {
    pixelmuse,
    stripe,
    urls: { pixelmuse: pixelmuse.url, stripe: stripe.url },
    async close() {
      await Promise.allSettled([pixelmuse.close(), stripe.close()]);
    },
  };
}
