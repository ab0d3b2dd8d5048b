import {
  startPixelmuseEmulator,
  type PixelmuseEmulator,
  type PixelmuseEmulatorOptions,
} from './pixelmuse.js';

export { SANDBOX_PIXELMUSE_KEY } from './pixelmuse.js';
export type { Fault, PixelmuseEmulator, PixelmuseEmulatorOptions, RecordedRequest } from './pixelmuse.js';

export interface SandboxOptions {
  pixelmuse?: PixelmuseEmulatorOptions;
}

/** Local stand-ins for every provider, used by `--sandbox` and by the test suite. */
export interface Sandbox {
  pixelmuse: PixelmuseEmulator;
  urls: { pixelmuse: string };
  close(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const pixelmuse = await startPixelmuseEmulator(opts.pixelmuse);
  return {
    pixelmuse,
    urls: { pixelmuse: pixelmuse.url },
    async close() {
      await Promise.allSettled([pixelmuse.close()]);
    },
  };
}
