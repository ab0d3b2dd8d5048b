import { describe, expect, it, vi } from 'vitest';
import type { OpenedUrl, OpenSecretPage } from '../../src/context.js';
import { askHuman, apiKeyField, type SecretRequest } from '../../src/entry/index.js';
import { formatError } from '../../src/error-format.js';
import { NothingStoredError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { linkIn, openPage, pageText, submitPage } from '../helpers/page-client.js';

// askHuman, the tool-facing flow, with a fake seam: the ends a tool call can come to besides a submitted page.

function context(openUrl: (message: string, url: string) => Promise<OpenedUrl>, canOpenUrl = true) {
  const controller = new AbortController();
  const progress = vi.fn();
  const open = new Map<string, OpenSecretPage>();
  return {
    controller,
    progress,
    open,
    ctx: {
      pages: { canOpenUrl: () => canOpenUrl, openUrl, open },
      progress,
      signal: controller.signal,
      log: silentLogger,
    },
  };
}

const request = (overrides: Partial<SecretRequest> = {}): SecretRequest => ({
  tool: 'pixelmuse_login',
  args: {},
  what: 'the Pixelmuse API key',
  text: {
    title: 'Connect a Pixelmuse API key',
    provider: 'Pixelmuse',
    purpose: 'Stores the key.',
    submit: 'Store',
  },
  fields: [apiKeyField('Pixelmuse API key')],
  accept: async () => ({ result: 'stored', page: 'Stored.' }),
  otherwise: 'run `npx atelier-mcp login pixelmuse`.',
  ...overrides,
});

describe('askHuman', () => {
  it('ends with nothing stored when the page expires, and tells the client the page is over', async () => {
    const complete = vi.fn(async () => {});
    const { ctx, progress } = context(async () => ({ answer: 'accept', complete }));
    const error = await askHuman(ctx, request({ ttlMs: 400 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NothingStoredError);
    expect(formatError(error)).toMatch(
      /^Nothing stored: The page for the Pixelmuse API key expired after 0 minutes without being submitted\.\nNext: Call pixelmuse_login again for a new link when the human is ready, or run `npx atelier-mcp login pixelmuse`\.$/,
    );
    expect(complete).toHaveBeenCalledTimes(1);
    expect(progress).toHaveBeenCalledWith(
      expect.stringMatching(/^Waiting for the human to submit the page for the Pixelmuse API key/),
    );
  });

  it('closes the page when the call is cancelled while it waits', async () => {
    let url = '';
    const { ctx, controller } = context(async (_m, u) => {
      url = u;
      return { answer: 'accept', complete: async () => {} };
    });
    const asking = askHuman(ctx, request());
    await vi.waitFor(() => expect(url).not.toBe(''));
    controller.abort(new DOMException('cancelled', 'AbortError'));
    await expect(asking).rejects.toThrow(/cancelled/);
    const page = await openPage(url);
    expect(page.status).toBe(410);
    expect(pageText(page.html)).toContain('This page was closed');
  });

  it('puts the link in the result when the client declared URL elicitation but could not open it', async () => {
    const { ctx, open } = context(async () => {
      throw new Error('Request timed out');
    });
    const text = await askHuman(ctx, request());
    expect(text).toMatch(
      /^OPEN THIS LINK in a browser on this computer and type the Pixelmuse API key there/,
    );
    expect(text).toContain('The client could not open the page itself.');
    expect(open.has('pixelmuse_login')).toBe(true);
    const page = await openPage(linkIn(text));
    expect((await submitPage(page, { api_key: 'pm_test_0123456789abcdef0123456789abcdef' })).status).toBe(
      200,
    );
    // The next call reports it.
    expect(await askHuman(ctx, request())).toMatch(
      /^stored\nThe Pixelmuse API key was typed into a one-time local page/,
    );
    expect(open.size).toBe(0);
  });

  it('replaces a waiting page when the same tool is called with other arguments', async () => {
    const { ctx } = context(async () => ({ answer: 'accept', complete: async () => {} }), false);
    const first = linkIn(await askHuman(ctx, request({ tool: 'modelslab_login', args: { email: 'a@b.c' } })));
    const second = linkIn(
      await askHuman(ctx, request({ tool: 'modelslab_login', args: { email: 'd@e.f' } })),
    );
    expect(second).not.toBe(first);
    expect((await openPage(first)).status).toBe(410);
    expect((await openPage(second)).status).toBe(200);
  });
});
