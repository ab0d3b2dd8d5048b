import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseModelslabError } from '../../src/providers/modelslab/errors.js';
import { subscriptionList } from '../../src/providers/modelslab/agents.js';
import { parsePixelmuseError } from '../../src/providers/pixelmuse/errors.js';
import { PIXELMUSE_GENERATE_FIELDS } from '../../src/providers/pixelmuse/types.js';
import {
  SANDBOX_MODELSLAB_KEY,
  SANDBOX_PIXELMUSE_KEY,
  startModelslabEmulator,
  startPixelmuseEmulator,
} from '../../src/sandbox/index.js';

/**
 * The providers' own documents (../shared/reference, beside the repository) replayed against our parsers and the
 * emulators: a change to either that breaks a documented example fails here. Skipped where the documents are absent.
 */
const REFERENCE = join(process.cwd(), '..', 'shared', 'reference');
const present = existsSync(REFERENCE);
const read = (path: string) => readFileSync(join(REFERENCE, path), 'utf8');

/** The ```json blocks of a page that are JSON (some carry // comments and are prose, not examples). */
function jsonBlocks(page: string): unknown[] {
  return [...read(page).matchAll(/```json[^\n]*\n([\s\S]*?)```/g)].flatMap(([, text]) => {
    try {
      return [JSON.parse(text!) as unknown];
    } catch {
      return [];
    }
  });
}

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe.skipIf(!present)('contract: ModelsLab documents', () => {
  it('every error example of error-codes.mdx parses to its message (and the 429 to its retry_after)', () => {
    const errors = jsonBlocks('modelslab-docs/error-codes.mdx').filter(
      (b): b is Record<string, unknown> => (b as { status?: unknown }).status === 'error',
    );
    expect(errors.length).toBeGreaterThanOrEqual(8);
    for (const body of errors) {
      const parsed = parseModelslabError(400, body);
      expect(parsed.message).toBe(body.message);
      if (body.retry_after !== undefined) expect(parsed.retryAfterSeconds).toBe(body.retry_after);
    }
  });

  it('the documented card decline (headless-flow.mdx) keeps its code, decline_code and PaymentIntent', () => {
    const decline = jsonBlocks('modelslab-docs/headless-flow.mdx').find(
      (b) => (b as { error?: { code?: string } }).error?.code === 'payment_declined',
    );
    expect(parseModelslabError(402, decline)).toMatchObject({
      code: 'payment_declined',
      message: 'Your card was declined.',
      details: { decline_code: 'insufficient_funds', payment_intent_id: 'pi_xxx' },
    });
  });

  it('the documented v6 text2img body (flux openapi fields) is accepted by the emulator; over 1024 is not', async () => {
    const ml = await startModelslabEmulator();
    close = () => ml.close();
    const post = async (body: Record<string, unknown>) =>
      (await (
        await fetch(`${ml.url}/api/v6/images/text2img`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ key: SANDBOX_MODELSLAB_KEY, ...body }),
        })
      ).json()) as { status: string };
    const documented = { model_id: 'flux', prompt: 'A sunset', width: 1024, height: 1024, samples: 1 };
    expect((await post(documented)).status).not.toBe('error');
    expect((await post({ ...documented, width: 1025 })).status).toBe('error');
  });

  it('a GET /subscriptions answer grouped by kind, as documented, lists every subscription', () => {
    expect(
      subscriptionList({ addon: [], enterprise: [{ id: 1 }], normal: [{ id: 2 }, { id: 3 }] }).map(
        (s) => s.id,
      ),
    ).toEqual([1, 2, 3]);
  });
});

interface OpenApi {
  components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>> }> };
}

describe.skipIf(!present)('contract: Pixelmuse OpenAPI', () => {
  const spec = present ? (JSON.parse(read('pixelmuse-openapi.json')) as OpenApi) : undefined;

  it('the client sends exactly the GenerateImageRequest fields', () => {
    expect([...PIXELMUSE_GENERATE_FIELDS].sort()).toEqual(
      Object.keys(spec!.components.schemas.GenerateImageRequest!.properties).sort(),
    );
  });

  it('the ErrorResponse example parses to its code, message and request id', () => {
    const error = spec!.components.schemas.ErrorResponse!.properties;
    const example = (p: Record<string, unknown>) => p.example;
    const inner = (error.error as { properties: Record<string, Record<string, unknown>> }).properties;
    const body = {
      error: { code: example(inner.code!), message: example(inner.message!) },
      request_id: example(error.request_id!),
    };
    expect(parsePixelmuseError(400, body)).toMatchObject({
      code: 'invalid_request_error',
      message: 'Prompt is required.',
      requestId: 'req_a1b2c3d4',
    });
  });

  it('the emulator takes a request built from the examples for every model of the enum, and no other model', async () => {
    const px = await startPixelmuseEmulator({ credits: 1000 });
    close = () => px.close();
    const request = spec!.components.schemas.GenerateImageRequest!.properties;
    const models = request.model!.enum as string[];
    const post = (body: Record<string, unknown>) =>
      fetch(`${px.url}/api/v1/images`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${SANDBOX_PIXELMUSE_KEY}` },
        body: JSON.stringify(body),
      });
    for (const model of models) {
      const res = await post({
        prompt: request.prompt!.example,
        model,
        aspect_ratio: '1:1',
        visibility: 'private',
      });
      expect(res.status, model).not.toBe(400);
      await res.body?.cancel();
    }
    const other = await post({ prompt: request.prompt!.example, model: 'nano-banana-2' });
    expect(other.status).toBe(400);
  });
});
