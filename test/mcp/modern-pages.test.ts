import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPixelmuseEmulator, type PixelmuseEmulator } from '../../src/sandbox/index.js';
import { startModernClient, textOf, type ModernClient } from '../helpers/modern-client.js';
import { openPage, pageText, submitPage } from '../helpers/page-client.js';
import { newPlace, requireTestBin, type Place } from '../helpers/spend-bins.js';

/**
 * A secret typed into the one-time page (src/entry/) under 2026-07-28, against the built bin: the call answers
 * input_required with a URL elicitation, the human uses the page, the retry reports what was stored. The key
 * never travels in a tool call or a result.
 */

const KEY = `pm_test_${randomBytes(16).toString('hex')}`;
const URL_CAPS = { elicitation: { url: {} } };

let pixelmuse: PixelmuseEmulator;
let place: Place;
let client: ModernClient | undefined;

beforeAll(async () => {
  requireTestBin();
  pixelmuse = await startPixelmuseEmulator({ apiKeys: [KEY] });
  place = await newPlace('atelier-modern-pages-');
});

afterEach(async () => {
  await client?.close();
  client = undefined;
});

afterAll(async () => {
  await place?.remove();
  await pixelmuse?.close();
});

function start(): ModernClient {
  client = startModernClient(
    place.env({ PIXELMUSE_BASE_URL: pixelmuse.url, ATELIER_PROVIDERS: 'pixelmuse' }),
  );
  return client;
}

type PageAsk = { requestState: string; inputRequests: { page: { params: { mode: string; url: string } } } };

describe('the one-time secret page by round trip (2026-07-28)', () => {
  it('asks the client to open the page, and the retry reports the key checked and stored', async () => {
    const c = start();
    const first = (await c.call('pixelmuse_login', {}, { capabilities: URL_CAPS })) as unknown as PageAsk;
    expect((first as unknown as Record<string, unknown>).resultType).toBe('input_required');
    const { mode, url } = first.inputRequests.page.params;
    expect(mode).toBe('url');
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);

    const page = await openPage(url);
    expect(pageText((await submitPage(page, { api_key: KEY })).html)).toContain(
      'The key works and is stored.',
    );
    const retry = await c.call(
      'pixelmuse_login',
      {},
      {
        capabilities: URL_CAPS,
        requestState: first.requestState,
        inputResponses: { page: { action: 'accept' } },
      },
    );
    expect(textOf(retry)).toMatch(
      /^Pixelmuse key pm_test_\*\*\*…\w{4} checked with Pixelmuse and stored in file /,
    );
    const stored = JSON.parse(await readFile(join(place.home, 'credentials.json'), 'utf8')) as Record<
      string,
      string
    >;
    expect(stored.pixelmuse_api_key).toBe(KEY);
    expect(JSON.stringify(c.received)).not.toContain(KEY);
  });

  it('stores nothing and closes the page when the human will not open it', async () => {
    const c = start();
    const first = (await c.call('pixelmuse_login', {}, { capabilities: URL_CAPS })) as unknown as PageAsk;
    const retry = await c.call(
      'pixelmuse_login',
      {},
      {
        capabilities: URL_CAPS,
        requestState: first.requestState,
        inputResponses: { page: { action: 'decline' } },
      },
    );
    expect(retry.isError).toBe(true);
    expect(textOf(retry)).toMatch(/The human declined to open the page/);
    expect(
      (await openPage(first.inputRequests.page.params.url).catch(() => ({ status: 0 }))).status,
    ).not.toBe(200);
  });
});
