import { basename } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

// generate_image with count: 2 runs two jobs at once. Whichever saves first, the first job's image is cat.png and
// the second's cat-2.png, as the result lists them. To make the first job finish last, its save is held back: the
// media module is wrapped so that a save of the bytes a preview was made from (only the first job makes the
// preview) waits a while first.

const { previewed } = vi.hoisted(() => ({ previewed: new WeakSet<Buffer>() }));

vi.mock('../../src/media/index.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/media/index.js')>();
  return {
    ...original,
    createMedia(...args: Parameters<typeof original.createMedia>) {
      const media = original.createMedia(...args);
      return {
        ...media,
        preview(bytes: Buffer, maxEdge?: number) {
          previewed.add(bytes);
          return media.preview(bytes, maxEdge);
        },
        async save(...saveArgs: Parameters<typeof media.save>) {
          if (previewed.has(saveArgs[0])) await new Promise((resolve) => setTimeout(resolve, 800));
          return media.save(...saveArgs);
        },
      };
    },
  };
});

let h: Harness;
afterEach(async () => h?.close());

describe('generate_image, count: 2', () => {
  it('names the files in the order it lists the jobs, cat.png first, when the first job saves last', async () => {
    h = await startHarness();
    const result = await h.call('generate_image', { prompt: 'cat', model: 'imagen-3', count: 2 });
    expect(result.isError).toBeFalsy();
    const text = textOf(result);
    const files = [...text.matchAll(/^- (\/\S+) \(/gm)].map((m) => basename(m[1]!));
    expect(files).toEqual(['cat.png', 'cat-2.png']);
    // The held-back job is the first: the preview is its image.
    expect(text).toContain('Preview of cat.png below');
  });
});
