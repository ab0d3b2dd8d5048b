import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { withSharp } from '../../src/media/sharp.js';

const square = (size: number) => ({
  create: { width: size, height: size, channels: 3 as const, background: '#264653' },
});

describe('withSharp', () => {
  it('runs one pipeline at a time, in call order', async () => {
    const events: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const first = withSharp(async (sharp) => {
      events.push('first started');
      started();
      await gate;
      const png = await sharp(square(8)).png().toBuffer();
      events.push('first done');
      return png;
    });
    const second = withSharp(async (sharp) => {
      events.push('second started');
      return (await sharp(square(4)).png().toBuffer()).length;
    });
    try {
      await firstStarted;
      // Room for a second pipeline that did not wait to start.
      for (let i = 0; i < 20; i++) await tick();
      expect(events).toEqual(['first started']);
    } finally {
      release();
    }
    const [png, bytes] = await Promise.all([first, second]);
    expect(events).toEqual(['first started', 'first done', 'second started']);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(bytes).toBeGreaterThan(0);
  });

  it('goes on with the next pipeline after one fails', async () => {
    const failed = withSharp(async (sharp) => sharp(Buffer.from('not an image')).metadata());
    const next = withSharp(async (sharp) => (await sharp(square(16)).png().toBuffer()).length);
    await expect(failed).rejects.toThrow();
    await expect(next).resolves.toBeGreaterThan(0);
  });
});
