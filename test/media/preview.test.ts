import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/log.js';
import { createMedia } from '../../src/media/index.js';

const warnings: string[] = [];
const log: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} };
const media = createMedia({
  config: { outputDir: '/unused', cwd: '/', dataDir: '/' },
  roots: async () => [],
  log,
});

describe('preview', () => {
  it('shrinks a 2000x1000 PNG to a 768x384 JPEG', async () => {
    const png = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#2a9d8f' } })
      .png()
      .toBuffer();
    const preview = await media.preview(png);
    expect(preview).toMatchObject({ mimeType: 'image/jpeg', width: 768, height: 384 });
    const meta = await sharp(Buffer.from(preview!.data, 'base64')).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 768, height: 384 });
  });

  it('encodes in one fast baseline pass, not the slow progressive (mozjpeg) kind', async () => {
    const png = await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#e76f51' } })
      .png()
      .toBuffer();
    const preview = await media.preview(png);
    const meta = await sharp(Buffer.from(preview!.data, 'base64')).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', isProgressive: false });
  });

  it('honours a smaller maxEdge on the long side of a portrait image', async () => {
    const png = await sharp({ create: { width: 300, height: 900, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    expect(await media.preview(png, 300)).toMatchObject({ width: 100, height: 300 });
  });

  it('does not enlarge a small image', async () => {
    const webp = await sharp({ create: { width: 120, height: 80, channels: 3, background: '#fff' } })
      .webp()
      .toBuffer();
    const preview = await media.preview(webp);
    expect(preview).toMatchObject({ width: 120, height: 80 });
    expect((await sharp(Buffer.from(preview!.data, 'base64')).metadata()).width).toBe(120);
  });

  it('applies the EXIF orientation', async () => {
    const jpeg = await sharp({ create: { width: 200, height: 100, channels: 3, background: '#f00' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(await media.preview(jpeg)).toMatchObject({ width: 100, height: 200 });
  });

  it('puts transparent pixels on white, not black', async () => {
    const clear = await sharp({
      create: { width: 10, height: 10, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .png()
      .toBuffer();
    const preview = await media.preview(clear);
    const { data } = await sharp(Buffer.from(preview!.data, 'base64'))
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect(Math.min(...data)).toBeGreaterThan(240);
  });

  it('returns undefined and warns for bytes it cannot decode', async () => {
    warnings.length = 0;
    expect(await media.preview(Buffer.from('definitely not an image'))).toBeUndefined();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('No preview');
  });
});
