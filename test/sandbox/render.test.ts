import { describe, expect, it } from 'vitest';
import { escapeXml, imageSize, renderImage } from '../../src/sandbox/render.js';

async function decode(png: Buffer) {
  const { default: sharp } = await import('sharp');
  const meta = await sharp(png).metadata();
  return { width: meta.width, height: meta.height, format: meta.format };
}

describe('imageSize', () => {
  it.each([
    ['1:1', 1024, 1024],
    ['16:9', 1024, 576],
    ['9:16', 576, 1024],
    ['21:9', 1024, 439],
    ['9:21', 439, 1024],
    ['4:5', 819, 1024],
    ['3:2', 1024, 683],
  ])('%s -> %ix%i', (ratio, width, height) => {
    expect(imageSize(ratio)).toEqual({ width, height });
  });

  it('falls back to square for nonsense', () => {
    expect(imageSize('wide')).toEqual({ width: 1024, height: 1024 });
    expect(imageSize('0:5')).toEqual({ width: 1024, height: 1024 });
  });
});

describe('renderImage', () => {
  it('renders a real PNG with the exact size of the aspect ratio', async () => {
    const png = await renderImage({ prompt: 'a panorama', model: 'imagen-3', aspectRatio: '21:9' });
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const img = await decode(png);
    expect([img.width, img.height, img.format]).toEqual([1024, 439, 'png']);
  });

  it('colours different prompts differently and the same prompt identically', async () => {
    const corner = async (prompt: string, seed?: number) => {
      const { default: sharp } = await import('sharp');
      const png = await renderImage({ prompt, model: 'flux-schnell', aspectRatio: '1:1', seed });
      return [...(await sharp(png).extract({ left: 0, top: 0, width: 1, height: 1 }).raw().toBuffer())];
    };
    const a = await corner('a red fox in the snow');
    expect(await corner('a red fox in the snow')).toEqual(a);
    expect(await corner('a blue whale in the deep')).not.toEqual(a);
    expect(await corner('a red fox in the snow', 7)).not.toEqual(a);
  });

  it('survives markup, control characters, emoji and a 10 000-character prompt', async () => {
    const nasty = `</text><script>alert("x")</script> & 'quotes' \u0000\u0007 \ud800 🦊 ${'word '.repeat(2000)}`;
    const png = await renderImage({ prompt: nasty, model: 'model<&>"', aspectRatio: '9:16' });
    const img = await decode(png);
    expect([img.width, img.height]).toEqual([576, 1024]);
  });
});

describe('escapeXml', () => {
  it('escapes the five XML specials and removes characters XML forbids', () => {
    expect(escapeXml(`<a href="x">Tom & 'Jerry'</a>\u0001`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt; ',
    );
  });
});
