import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

async function makeImages(h: Harness, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await h.call('generate_image', { prompt: `picture ${i}`, model: 'imagen-3', preview: false });
    ids.push(/Job id: (\S+)\./.exec(textOf(r))![1]!);
  }
  return ids;
}

describe('pixelmuse_list_images', () => {
  it('pages through the history newest first with next_cursor', async () => {
    h = await startHarness();
    const ids = await makeImages(h, 3);
    const page1 = textOf(await h.call('pixelmuse_list_images', { limit: 2 }));
    expect(page1).toMatch(/^2 image\(s\):/);
    expect(page1.indexOf(ids[2]!)).toBeLessThan(page1.indexOf(ids[1]!));
    const cursor = /cursor "([^"]+)"/.exec(page1)![1]!;
    const page2 = textOf(await h.call('pixelmuse_list_images', { limit: 2, cursor }));
    expect(page2).toContain(ids[0]);
    expect(page2).toContain('End of list.');
  });

  it('filters by status and handles an empty history', async () => {
    h = await startHarness();
    expect(textOf(await h.call('pixelmuse_list_images'))).toContain('No images yet');
    await makeImages(h, 1);
    expect(textOf(await h.call('pixelmuse_list_images', { status: 'failed' }))).toContain('No images yet');
    expect(textOf(await h.call('pixelmuse_list_images', { status: 'succeeded' }))).toMatch(/^1 image\(s\)/);
  });

  it('refuses an out-of-range limit before calling Pixelmuse', async () => {
    h = await startHarness();
    const result = await h.call('pixelmuse_list_images', { limit: 500 });
    expect(result.isError).toBe(true);
    expect(h.emulator.requests).toHaveLength(0);
  });
});

describe('pixelmuse_update_image', () => {
  it('makes an image public and gives its share page', async () => {
    h = await startHarness();
    const [id] = await makeImages(h, 1);
    const text = textOf(await h.call('pixelmuse_update_image', { id, visibility: 'public' }));
    expect(text).toBe(`${id} is now public. Share page: https://www.pixelmuse.studio/g/${id}`);
    const listed = textOf(await h.call('pixelmuse_list_images'));
    expect(listed).toContain(`${id} · succeeded · imagen-3 · public`);
  });

  it('reports an unknown id', async () => {
    h = await startHarness();
    const result = await h.call('pixelmuse_update_image', { id: 'img_missing', visibility: 'private' });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/not_found \(HTTP 404/);
  });
});

describe('pixelmuse_delete_image', () => {
  it('deletes (204, no body) and the image is gone afterwards', async () => {
    h = await startHarness();
    const [id] = await makeImages(h, 1);
    const result = await h.call('pixelmuse_delete_image', { id });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toBe(`Deleted ${id}.`);
    const after = await h.call('get_generation', { provider: 'pixelmuse', id });
    expect(after.isError).toBe(true);
    expect(textOf(after)).toMatch(/HTTP 404/);
  });
});
