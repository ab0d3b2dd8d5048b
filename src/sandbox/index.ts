import type { CredentialName } from '../credentials/index.js';
import type { ModelslabEmulator, ModelslabEmulatorOptions } from './modelslab/index.js';
import type { PixelmuseEmulator, PixelmuseEmulatorOptions } from './pixelmuse/index.js';
import { SANDBOX_MODELSLAB_KEY, startModelslabEmulator } from './modelslab/index.js';
import { SANDBOX_PIXELMUSE_KEY, startPixelmuseEmulator } from './pixelmuse/index.js';
import { startStripeEmulator, type StripeEmulator } from './stripe/index.js';
import { SANDBOX_PAYMENT_METHOD, SANDBOX_STRIPE_KEY } from './stripe/spt.js';

export { SANDBOX_PIXELMUSE_KEY, startPixelmuseEmulator } from './pixelmuse/index.js';
export type { PixelmuseEmulator, PixelmuseEmulatorOptions } from './pixelmuse/index.js';
export {
  SANDBOX_MODELSLAB_EMAIL,
  SANDBOX_MODELSLAB_KEY,
  SANDBOX_MODELSLAB_TOKEN,
  startModelslabEmulator,
} from './modelslab/index.js';
export type { ModelslabEmulator, ModelslabEmulatorOptions } from './modelslab/index.js';
export { SANDBOX_PAYMENT_METHOD, SANDBOX_STRIPE_KEY } from './stripe/spt.js';
export { SANDBOX_STRIPE_PUBLISHABLE_KEY, startStripeEmulator } from './stripe/index.js';
export type { StripeEmulator } from './stripe/index.js';
export type { RecordedRequest } from './core/exchange.js';
export type { Fault } from './core/server.js';

/**
 * What a sandboxed server holds, in memory only (the `env` and `memory` of createServices): the emulators' test keys
 * and the card MPP pays with. Real keys in the environment never reach an emulator, nor pass for sandbox ones.
 * ModelsLab starts with the sandbox account's API key but no token: the agent signs up, verifies and logs in.
 */
export const SANDBOX_CREDENTIALS: {
  env: Record<string, string>;
  memory: Partial<Record<CredentialName, string>>;
} = {
  env: { ATELIER_STRIPE_SECRET_KEY: SANDBOX_STRIPE_KEY, ATELIER_MPP_PAYMENT_METHOD: SANDBOX_PAYMENT_METHOD },
  memory: { pixelmuse_api_key: SANDBOX_PIXELMUSE_KEY, modelslab_api_key: SANDBOX_MODELSLAB_KEY },
};

export interface SandboxOptions {
  pixelmuse?: PixelmuseEmulatorOptions;
  modelslab?: ModelslabEmulatorOptions;
}

/** Local stand-ins for every provider, used by `--sandbox` and by the test suite. */
export interface Sandbox {
  pixelmuse: PixelmuseEmulator;
  modelslab: ModelslabEmulator;
  stripe: StripeEmulator;
  urls: { pixelmuse: string; modelslab: string; stripe: string };
  close(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const stripe = await startStripeEmulator();
  const [pixelmuse, modelslab] = await Promise.all([
    // The sandbox Pixelmuse settles MPP payments with the SPTs the sandbox Stripe minted.
    startPixelmuseEmulator({ ...opts.pixelmuse, mpp: { stripe: stripe.book, ...opts.pixelmuse?.mpp } }),
    // The sandbox ModelsLab charges the cards the sandbox Stripe tokenized.
    // Its jobs take a few seconds, as upstream, so that waiting and progress show.
    // Trainings go through every status in about 9 s (a ModelsLab "minute" is 300 ms).
    startModelslabEmulator({
      stripe,
      generation: { jobDelayMs: 6_000 },
      training: { minuteMs: 300 },
      ...opts.modelslab,
    }),
  ]);
  return {
    pixelmuse,
    modelslab,
    stripe,
    urls: { pixelmuse: pixelmuse.url, modelslab: modelslab.url, stripe: stripe.url },
    async close() {
      await Promise.allSettled([pixelmuse.close(), modelslab.close(), stripe.close()]);
    },
  };
}
