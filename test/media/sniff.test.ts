import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { sniff } from '../../src/media/sniff.js';
import { slug } from '../../src/media/slug.js';

const W = 37;
const H = 21;

function base(alpha = false): sharp.Sharp {
  return sharp({
    create: {
      width: W,
      height: H,
      channels: alpha ? 4 : 3,
      background: { r: 200, g: 30, b: 90, alpha: 0.5 },
    },
  });
}

function ftyp(major: string, compatible: string[]): Buffer {
  const brands = [major, '\0\0\0\0', ...compatible].join('');
  const box = Buffer.alloc(8 + brands.length);
  box.writeUInt32BE(box.length, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(brands, 8, 'latin1');
  return Buffer.concat([box, Buffer.alloc(32)]);
}

describe('sniff', () => {
  it.each([
    ['png', 'image/png', () => base().png().toBuffer()],
    ['jpg', 'image/jpeg', () => base().jpeg().toBuffer()],
    ['webp', 'image/webp', () => base().webp({ lossless: false }).toBuffer()],
    ['webp', 'image/webp', () => base().webp({ lossless: true }).toBuffer()],
    ['webp', 'image/webp', () => base(true).webp({ lossless: false }).toBuffer()],
    ['gif', 'image/gif', () => base().gif().toBuffer()],
  ])('reads .%s (%s) with its width and height', async (ext, mimeType, make) => {
    const bytes = await make();
    expect(sniff(bytes)).toEqual({ ext, mimeType, width: W, height: H });
  });

  it('tells the three WebP chunk kinds apart (lossy, lossless, extended)', async () => {
    const kinds = await Promise.all([
      base().webp({ lossless: false }).toBuffer(),
      base().webp({ lossless: true }).toBuffer(),
      base(true).webp({ lossless: false }).toBuffer(),
    ]);
    expect(kinds.map((b) => b.subarray(12, 16).toString('latin1'))).toEqual(['VP8 ', 'VP8L', 'VP8X']);
  });

  it('reads a progressive JPEG (SOF2) frame size past an EXIF block', async () => {
    const bytes = await sharp({ create: { width: 3001, height: 1999, channels: 3, background: '#888' } })
      .jpeg({ progressive: true })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect(bytes.includes(Buffer.from('Exif\0\0', 'latin1'))).toBe(true);
    expect(bytes.includes(Buffer.from([0xff, 0xc2]))).toBe(true);
    expect(sniff(bytes)).toMatchObject({ mimeType: 'image/jpeg', width: 3001, height: 1999 });
  });

  it('recognises AVIF made by sharp', async () => {
    const bytes = await base().avif().toBuffer();
    expect(sniff(bytes)).toMatchObject({ ext: 'avif', mimeType: 'image/avif' });
  });

  it('recognises HEIC and generic HEIF by their ftyp brands, and AVIF even when mif1 comes first', () => {
    expect(sniff(ftyp('heic', ['mif1', 'heic']))).toMatchObject({ ext: 'heic', mimeType: 'image/heic' });
    expect(sniff(ftyp('mif1', ['mif1']))).toMatchObject({ ext: 'heif', mimeType: 'image/heif' });
    expect(sniff(ftyp('mif1', ['mif1', 'avif']))).toMatchObject({ ext: 'avif', mimeType: 'image/avif' });
    expect(sniff(ftyp('isom', ['mp41']))).toEqual({ ext: 'bin', mimeType: 'application/octet-stream' });
  });

  it('calls anything else .bin', () => {
    expect(sniff(Buffer.from('<html>not an image</html>'))).toEqual({
      ext: 'bin',
      mimeType: 'application/octet-stream',
    });
    expect(sniff(Buffer.alloc(0))).toEqual({ ext: 'bin', mimeType: 'application/octet-stream' });
  });

  it('keeps the type of a truncated header but invents no size', () => {
    const truncated = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);
    expect(sniff(truncated)).toEqual({ ext: 'png', mimeType: 'image/png' });
  });
});

describe('slug', () => {
  it('makes lowercase ASCII dashed words from a prompt', () => {
    expect(slug('A Café at Night, 35mm — Kodak Portra!')).toBe('a-cafe-at-night-35mm-kodak-portra');
  });

  it('stays within 60 characters and ends on a whole word', () => {
    const s = slug('watercolor '.repeat(20));
    expect(s.length).toBeLessThanOrEqual(60);
    expect(s).toMatch(/^(watercolor-)*watercolor$/);
  });

  it('is never empty', () => {
    expect(slug('日本語のプロンプト')).toBe('image');
    expect(slug('   ')).toBe('image');
  });
});
