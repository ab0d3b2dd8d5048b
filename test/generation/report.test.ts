import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { JobOutcome } from '../../src/generation/outcome.js';
import { reportOutcomes } from '../../src/generation/report.js';
import { openGenerations } from '../../src/generations/store.js';
import { silentLogger } from '../../src/log.js';
import { createMedia } from '../../src/media/index.js';

const media = createMedia({
  config: { outputDir: '/unused', cwd: '/', dataDir: '/' },
  roots: async () => [],
  log: silentLogger,
});

describe('reportOutcomes', () => {
  it('makes the preview from the bytes it saved, without reading the file back', async () => {
    const png = await sharp({ create: { width: 1200, height: 600, channels: 3, background: '#e76f51' } })
      .png()
      .toBuffer();
    const outcome: JobOutcome = {
      provider: 'pixelmuse',
      id: 'img_mem',
      model: 'flux-schnell',
      state: 'succeeded',
      // Gone from disk by now (moved by the user, say): only the bytes in memory can make this preview.
      saved: [{ path: '/nonexistent/atelier/moved.png', bytes: png.length, mimeType: 'image/png' }],
      firstBytes: png,
      urls: [],
      notes: [],
      elapsedMs: 1,
    };
    const blocks = await reportOutcomes([{ status: 'fulfilled', value: outcome }], {
      media,
      generations: openGenerations({ log: silentLogger }),
      preview: true,
    });
    const image = blocks.find((b) => b.type === 'image');
    expect(image).toBeDefined();
    const meta = await sharp(Buffer.from(image!.type === 'image' ? image!.data : '', 'base64')).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 768, height: 384 });
    expect(blocks[0]).toMatchObject({ type: 'text', text: expect.stringContaining('Preview of moved.png') });
  });
});
