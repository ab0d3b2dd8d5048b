import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/log.js';
import { createMedia } from '../../src/media/index.js';

// A plain function, not vi.fn: vitest's spies attach handlers to the promises they return, which would hide
// the unhandled rejection the second test looks for.
const sharpLoads = vi.hoisted(() => ({ count: 0, fail: false }));
vi.mock('../../src/media/sharp.js', async (original) => {
  const real = await original<typeof import('../../src/media/sharp.js')>();
  return {
    ...real,
    loadSharp: () => {
      sharpLoads.count += 1;
      return sharpLoads.fail ? Promise.reject(new Error('no native module')) : real.loadSharp();
    },
  };
});

const media = createMedia({
  config: { outputDir: '/unused', cwd: '/', dataDir: '/' },
  roots: async () => [],
  log: silentLogger,
});

describe('media.warm', () => {
  it('starts loading sharp, which save and preview need', () => {
    sharpLoads.count = 0;
    media.warm();
    expect(sharpLoads.count).toBe(1);
  });

  it('never throws nor leaves an unhandled rejection when sharp cannot load', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    sharpLoads.fail = true;
    try {
      expect(() => media.warm()).not.toThrow();
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
    } finally {
      sharpLoads.fail = false;
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
