import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SANDBOX_MODELSLAB_KEY,
  SANDBOX_PIXELMUSE_KEY,
  startModelslabEmulator,
  startPixelmuseEmulator,
} from '../../src/sandbox/index.js';
import { renderImage } from '../../src/sandbox/render.js';

// The real renderer, counted: the emulators must draw while a job runs, as a real provider has the image on its
// CDN when the job completes. Drawn on download instead, the sandbox's drawing time would count as the client's
// (`npm run bench` measures completion -> result against these emulators).
vi.mock('../../src/sandbox/render.js', async (original) => {
  const real = await original<typeof import('../../src/sandbox/render.js')>();
  return { ...real, renderImage: vi.fn(real.renderImage) };
});

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
  vi.mocked(renderImage).mockClear();
});

/** A job that runs far longer than any test: whatever these tests see happened while it was running. */
const LONG_JOB_MS = 600_000;

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return (await res.json()) as Record<string, unknown>;
}

describe('sandbox emulators draw the image while the job runs', () => {
  it('Pixelmuse: an async job is drawn before it completes; a failing one is not drawn', async () => {
    const emu = await startPixelmuseEmulator({ jobDelayMs: LONG_JOB_MS });
    closers.push(() => emu.close());
    const auth = { Authorization: `Bearer ${SANDBOX_PIXELMUSE_KEY}` };
    await post(`${emu.url}/api/v1/images`, { prompt: 'a will explode', model: 'flux-schnell' }, auth);
    const job = await post(
      `${emu.url}/api/v1/images`,
      { prompt: 'a lighthouse', model: 'flux-schnell' },
      auth,
    );
    expect(job.status).not.toBe('succeeded');

    await vi.waitFor(() => expect(renderImage).toHaveBeenCalledTimes(1), { timeout: 20_000 });
    expect(vi.mocked(renderImage).mock.calls[0]![0]).toMatchObject({ prompt: 'a lighthouse' });
    const now = (await (
      await fetch(`${emu.url}/api/v1/images/${String(job.id)}`, { headers: auth })
    ).json()) as {
      status: string;
    };
    expect(now.status).not.toBe('succeeded');
  });

  it('ModelsLab: every sample of an async job is drawn before it completes', async () => {
    const emu = await startModelslabEmulator({ generation: { jobDelayMs: LONG_JOB_MS } });
    closers.push(() => emu.close());
    const job = await post(`${emu.url}/api/v6/images/text2img`, {
      key: SANDBOX_MODELSLAB_KEY,
      model_id: 'flux',
      prompt: 'two lighthouses',
      samples: '2',
    });
    expect(job.status).toBe('processing');

    await vi.waitFor(() => expect(renderImage).toHaveBeenCalledTimes(2), { timeout: 20_000 });
    const fetched = await post(String(job.fetch_result), { key: SANDBOX_MODELSLAB_KEY });
    expect(fetched.status).toBe('processing');
  });
});
