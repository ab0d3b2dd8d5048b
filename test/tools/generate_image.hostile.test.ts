import { readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { savedPaths, startHarness, textOf, type Harness } from '../helpers/harness.js';

// A broken or hostile upstream: what it sends must never crash a call, lose a job id or leak a secret.

let h: Harness;
afterEach(async () => h?.close());

const LIVE_KEY = 'pm_live_0123456789abcdef0123456789abcdef';
const SIGNED = 'X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=0f1e2d3c4b5a';
const CARD = '4242\u00a0\u00a04242.4242_4242';

const sent = (h: Harness, method: string) =>
  h.emulator.requests.filter((r) => r.method === method && r.path.startsWith('/api/v1/images'));

describe('generate_image against a hostile upstream: redaction of everything that leaves', () => {
  it('redacts a success result: a model name echoing a key, a signed output URL', async () => {
    h = await startHarness();
    h.emulator.inject({
      method: 'POST',
      path: '/api/v1/images',
      rewrite: (image) => ({
        ...image,
        model: `flux-schnell (key ${LIVE_KEY})`,
        output: (image.output as string[]).map((u) => `${u}?${SIGNED}`),
      }),
    });
    const result = await h.call('generate_image', {
      prompt: 'signed',
      model: 'flux-schnell',
      preview: false,
    });
    expect(result.isError, textOf(result)).toBeFalsy();
    const text = textOf(result);
    expect(savedPaths(result)).toHaveLength(1);
    expect(text).toMatch(/url: http:\/\/127\.0\.0\.1:\d+\/cdn\/img_\w+\/0\.png\?\[signature removed\]/);
    expect(text).toContain('pm_live_***');
    expect(text).not.toContain('0123456789abcdef');
    expect(text).not.toContain('0f1e2d3c4b5a');
    expect(text).not.toContain('AKIAEXAMPLE');
    // Every block, the resource link included, and the resource list that describes the saved job.
    expect(result.content.some((c) => c.type === 'resource_link')).toBe(true);
    expect(JSON.stringify(result.content)).not.toContain('0123456789abcdef');
    const listed = await h.client.listResources();
    expect(JSON.stringify(listed)).toContain('pm_live_***');
    expect(JSON.stringify(listed)).not.toContain('0123456789abcdef');
  });

  it('redacts a failed sibling job in a partial batch: its error echoes a bearer key and a card', async () => {
    h = await startHarness();
    h.emulator.inject({
      method: 'POST',
      path: '/api/v1/images',
      rewrite: (image) => ({
        ...image,
        status: 'failed',
        output: null,
        error: `upstream rejected Authorization: Bearer ${LIVE_KEY} for card ${CARD}`,
      }),
    });
    const result = await h.call('generate_image', {
      prompt: 'two',
      model: 'imagen-3',
      count: 2,
      preview: false,
    });
    expect(result.isError, textOf(result)).toBeFalsy();
    const text = textOf(result);
    expect(text).toMatch(/^Saved 1 image/m);
    expect(text).toMatch(/^FAILED: .*Bearer \*\*\* for card \[card\]/m);
    expect(text).not.toContain('0123456789abcdef');
    expect(text).not.toMatch(/4242/);
  });

  it('redacts progress notifications', async () => {
    h = await startHarness();
    const progress: string[] = [];
    const result = await h.call(
      'generate_image',
      { prompt: 'progress', model: LIVE_KEY },
      { onprogress: (p) => progress.push(p.message ?? '') },
    );
    expect(result.isError).toBe(true);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.join('\n')).toContain('pm_live_***');
    expect(progress.join('\n')).not.toContain('0123456789abcdef');
  });
});

describe('generate_image against a hostile upstream: broken answers', () => {
  it('an answer to a poll larger than the body cap fails that job and keeps its id', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 2_000, maxPreferWaitSeconds: 0 } });
    h.emulator.inject({
      method: 'GET',
      path: '/api/v1/images/',
      huge: { bytes: 40 * 1024 * 1024, head: '{"id":"img_x","status":"processing","pad":"', tail: '"}' },
    });
    const result = await h.call('generate_image', { prompt: 'huge poll', model: 'flux-schnell' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/^Pixelmuse sent an answer that could not be used: response_too_large \(HTTP 200/);
    expect(text).toContain('is larger than the 32 MB this server reads');
    const id = /Pixelmuse job (img_\w+) was created and is not lost\./.exec(text)?.[1];
    expect(id).toMatch(/^img_/);
    expect(text).toContain(`get_generation with provider "pixelmuse" and id "${id}"`);
  });

  it('a 201 cut off mid-body says the job may have been charged and how to find it', async () => {
    h = await startHarness();
    h.emulator.inject({
      method: 'POST',
      path: '/api/v1/images',
      status: 201,
      body: { id: 'img_cut0123', status: 'succeeded', model: 'imagen-3', prompt: 'cut', output: [] },
      truncateAt: 30,
      times: 4,
    });
    const result = await h.call('generate_image', { prompt: 'cut', model: 'imagen-3' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/^Pixelmuse sent an answer that could not be used: truncated_response \(HTTP 201/);
    expect(text).toContain('Pixelmuse answered HTTP 201, so the job may have been created and charged.');
    expect(text).toMatch(/Next: Do not generate again yet: call pixelmuse_list_images/);
  });

  it('a 201 whose JSON ends early names the id it can still read', async () => {
    h = await startHarness();
    h.emulator.inject({
      method: 'POST',
      path: '/api/v1/images',
      status: 201,
      body: '{"id":"img_half0123","status":"proc',
    });
    const result = await h.call('generate_image', { prompt: 'half', model: 'imagen-3' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toContain('its id looks like img_half0123');
    expect(text).toContain('get_generation with id "img_half0123"');
  });

  it('a key with a control character is a configuration error and nothing is sent', async () => {
    h = await startHarness({ apiKey: 'pm_test_5a4d6b0e8c1f4a7b\n9e2d3c6f1a8b7e40' });
    const result = await h.call('generate_image', { prompt: 'newline key', model: 'imagen-3' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Not configured: The Pixelmuse API key contains a space or control character/,
    );
    expect(textOf(result)).not.toContain('Could not reach');
    expect(sent(h, 'POST')).toHaveLength(0);
  });
});

describe('outputs must be images', () => {
  it('an HTML page served as the output fails the job with its id and saves nothing', async () => {
    h = await startHarness();
    h.emulator.inject({
      method: 'GET',
      path: '/cdn/',
      status: 200,
      headers: { 'content-type': 'image/png' },
      body: '<!doctype html><html><body>Please log in</body></html>',
    });
    const result = await h.call('generate_image', { prompt: 'html', model: 'flux-schnell' });
    expect(result.isError).toBe(true);
    const text = textOf(result);
    expect(text).toMatch(/not_an_image/);
    expect(text).toMatch(
      /returned the output at http:\/\/127\.0\.0\.1:\d+\/cdn\/img_\w+\/0\.png that is not an image: \d+ bytes of an HTML page/,
    );
    expect(text).toMatch(/Pixelmuse job img_\w+ was created and is not lost\./);
    expect(await readdir(h.outputDir)).toEqual([]);
  });

  it('an inline output that is not an image fails the job the same way', async () => {
    h = await startHarness();
    h.emulator.inject({
      method: 'POST',
      path: '/api/v1/images',
      rewrite: (image) => ({ ...image, output: ['data:text/plain;base64,aGVsbG8gd29ybGQ='] }),
    });
    const result = await h.call('generate_image', { prompt: 'text', model: 'imagen-3' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/an inline output that is not an image: 11 bytes of text/);
    expect(textOf(result)).toMatch(/Pixelmuse job gemini_\w+ was created and is not lost\./);
    expect(await readdir(h.outputDir)).toEqual([]);
  });
});

describe('the target is validated before anything is charged', () => {
  it.each([
    ['a filename of 100 CJK characters', { filename: '猫'.repeat(100) }, /300 bytes long in UTF-8/],
    ['a Windows device name', { filename: 'PRN.png' }, /device name Windows reserves/],
    ['a bidi override', { filename: 'cat\u202egnp' }, /bidirectional override/],
    ['a folder name over 255 bytes', { output_dir: 'x'.repeat(256) }, /256 bytes long/],
  ])('%s is an input error and no request leaves', async (_, args, says) => {
    h = await startHarness();
    const result = await h.call('generate_image', { prompt: 'named', model: 'imagen-3', ...args });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid input: /);
    expect(textOf(result)).toMatch(says);
    expect(sent(h, 'POST')).toHaveLength(0);
  });

  it('a dangling symlink in output_dir is an input error and no request leaves', async () => {
    h = await startHarness();
    await symlink(join(h.outputDir, 'nowhere'), join(h.outputDir, 'dangling'));
    const result = await h.call('generate_image', { prompt: 'linked', output_dir: 'dangling/x' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid input: output_dir "dangling\/x" goes through .* does not exist/);
    expect(sent(h, 'POST')).toHaveLength(0);
  });
});

describe('ids are checked before they reach a URL', () => {
  it.each([
    ['get_generation', { provider: 'pixelmuse', id: '..' }, 'GET'],
    ['get_generation', { provider: 'pixelmuse', id: '.' }, 'GET'],
    ['pixelmuse_delete_image', { id: '..' }, 'DELETE'],
    ['pixelmuse_update_image', { id: '../account', visibility: 'public' }, 'PATCH'],
    ['pixelmuse_delete_image', { id: `img_${'a'.repeat(200)}` }, 'DELETE'],
  ])('%s %j is refused without a request', async (tool, args, method) => {
    h = await startHarness();
    const result = await h.call(tool, args);
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/^Invalid input: ".*" is not a Pixelmuse image id/);
    expect(h.emulator.requests.filter((r) => r.method === method)).toHaveLength(0);
  });
});

describe('a job id that is not a string or a number is quoted, never lost or printed as [object Object]', () => {
  const ODD_IDS: Array<[string, unknown]> = [
    ['an object', { job: 'img_abc123', n: 1 }],
    ['an array', ['img_abc123', 2]],
    ['a boolean', true],
  ];
  // Where each provider's create and status answers come from, and where its history is.
  const UPSTREAMS = {
    pixelmuse: {
      args: { model: 'imagen-3' },
      create: { method: 'POST', path: '/api/v1/images' },
      status: { method: 'GET', path: '/api/v1/images/' },
      // imagen-3 answers the create finished; flux-schnell is still processing, so it is polled.
      slow: { emulator: { jobDelayMs: 2_000, maxPreferWaitSeconds: 0 } },
      slowArgs: { model: 'flux-schnell' },
      history: 'pixelmuse_list_images',
    },
    modelslab: {
      args: { provider: 'modelslab' },
      create: { method: 'POST', path: '/api/v6/images/text2img' },
      status: { method: 'POST', path: '/api/v6/images/fetch/' },
      slow: { modelslab: { generation: { fetchesToFinish: 2, etaSeconds: 1 } } },
      slowArgs: { provider: 'modelslab' },
      history: 'modelslab_usage',
    },
  } as const;
  const emulatorOf = (h: Harness, provider: keyof typeof UPSTREAMS) =>
    provider === 'pixelmuse' ? h.emulator : h.modelslab;

  describe.each(['pixelmuse', 'modelslab'] as const)('%s', (provider) => {
    const up = UPSTREAMS[provider];

    it.each(ODD_IDS)('a create answer with %s as its id', async (_, id) => {
      h = await startHarness();
      emulatorOf(h, provider).inject({ ...up.create, rewrite: (answer) => ({ ...answer, id }) });
      const result = await h.call('generate_image', { prompt: 'odd id', preview: false, ...up.args });
      expect(result.isError, textOf(result)).toBe(true);
      const text = textOf(result);
      expect(text).not.toContain('[object Object]');
      expect(text).toMatch(
        /^\w+ sent an answer that could not be used: unexpected_response \(HTTP 20\d, request req_\w+\)\./,
      );
      expect(text).toContain(JSON.stringify(id));
      // The job may exist and be paid for: the way to find it comes before any new attempt.
      expect(text).toMatch(new RegExp(`Next: Do not generate again yet: .*${up.history}`));
    });

    it('a huge id is quoted capped at 200 characters', async () => {
      h = await startHarness();
      const id = { pad: 'x'.repeat(5_000) };
      emulatorOf(h, provider).inject({ ...up.create, rewrite: (answer) => ({ ...answer, id }) });
      const result = await h.call('generate_image', { prompt: 'huge id', preview: false, ...up.args });
      expect(result.isError).toBe(true);
      const quoted = /cannot be used: (\{"pad":"x+…)\./.exec(textOf(result))?.[1];
      expect(quoted, textOf(result)).toHaveLength(200);
    });

    it('a status answer with an object as its id fails that job and keeps its real id', async () => {
      h = await startHarness(up.slow);
      const id = { job: 'img_abc123', n: 1 };
      emulatorOf(h, provider).inject({ ...up.status, rewrite: (answer) => ({ ...answer, id }) });
      const result = await h.call('generate_image', { prompt: 'odd status', preview: false, ...up.slowArgs });
      expect(result.isError, textOf(result)).toBe(true);
      const text = textOf(result);
      expect(text).not.toContain('[object Object]');
      expect(text).toMatch(/unexpected_response \(HTTP 200, request req_\w+\)/);
      expect(text).toContain(JSON.stringify(id));
      const real = /job (\w+) was created and is not lost\./.exec(text)?.[1];
      expect(real, text).toBeDefined();
      expect(text).toContain(`get_generation with provider "${provider}" and id "${real}"`);
    });
  });
});
