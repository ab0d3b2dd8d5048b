import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

// Debian's Chromium (apt package `chromium`, installed by .ci/run) driven by playwright-core: never a browser
// downloaded by Playwright. A missing Chromium fails the tests that need it, loudly: they never skip.

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface Browser {
  /** A fresh browser profile (its own cookies): a second one plays another person's browser. */
  context(options?: { javaScriptEnabled?: boolean }): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does). ` +
        'These tests drive the one-time secret pages in a real browser and never skip.',
    );
  }
  const contexts: Array<{ context: BrowserContext; dir: string }> = [];
  return {
    async context(options = {}) {
      const dir = await mkdtemp(join(tmpdir(), 'atelier-chromium-'));
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        javaScriptEnabled: options.javaScriptEnabled ?? true,
      });
      contexts.push({ context, dir });
      return context;
    },
    async close() {
      for (const { context, dir } of contexts.splice(0)) {
        await context.close().catch(() => {});
        await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      }
    },
  };
}
