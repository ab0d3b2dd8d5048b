import { afterEach, describe, expect, it } from 'vitest';
import { savedPaths, startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

describe('get_generation', () => {
  it('saves a finished job again without charging', async () => {
    h = await startHarness();
    const first = await h.call('generate_image', {
      prompt: 'keep me',
      model: 'flux-schnell',
      preview: false,
    });
    const id = /Job id: (img_\w+)/.exec(textOf(first))![1]!;
    const credits = h.emulator.credits;
    const again = await h.call('get_generation', { provider: 'pixelmuse', id, output_dir: 'copies' });
    expect(again.isError).toBeFalsy();
    expect(savedPaths(again)[0]).toBe(`${h.outputDir}/copies/keep-me.png`);
    expect(again.content.some((c) => c.type === 'image')).toBe(true);
    expect(h.emulator.credits).toBe(credits);
  });

  it('says still running again when the job outlasts this wait too', async () => {
    h = await startHarness({ emulator: { jobDelayMs: 4_000 } });
    const first = await h.call('generate_image', {
      prompt: 'slow',
      model: 'recraft-v4',
      max_wait_seconds: 1,
    });
    const id = /job (img_\w+)/.exec(textOf(first))![1]!;
    const again = await h.call('get_generation', { provider: 'pixelmuse', id, max_wait_seconds: 0 });
    expect(textOf(again)).toMatch(new RegExp(`^STILL RUNNING .*job ${id}`));
  });

  it('answers an unknown id with the 404 and where to find ids', async () => {
    h = await startHarness();
    const result = await h.call('get_generation', { provider: 'pixelmuse', id: 'img_nope' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /^Pixelmuse refused the request: not_found \(HTTP 404, request req_\w+\)\./,
    );
    expect(textOf(result)).toContain('pixelmuse_list_images');
  });

  it('rejects an unknown provider through schema validation', async () => {
    h = await startHarness();
    const result = await h.call('get_generation', { provider: 'dalle', id: 'x' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/provider/);
  });
});
