import { createHash } from 'node:crypto';
import { withSharp } from '../media/sharp.js';

export interface RenderRequest {
  prompt: string;
  model: string;
  /** "W:H", e.g. "16:9". Anything unparsable renders square. */
  aspectRatio: string;
  seed?: number;
}

const LONG_EDGE = 1024;

/** Pixel size for an aspect ratio with a 1024 px long edge: 16:9 -> 1024x576, 21:9 -> 1024x439. */
export function imageSize(aspectRatio: string): { width: number; height: number } {
  const match = /^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$/.exec(aspectRatio.trim());
  const w = match ? Number(match[1]) : 1;
  const h = match ? Number(match[2]) : 1;
  if (!(w > 0) || !(h > 0)) return { width: LONG_EDGE, height: LONG_EDGE };
  if (w >= h) return { width: LONG_EDGE, height: Math.max(1, Math.round((LONG_EDGE * h) / w)) };
  return { width: Math.max(1, Math.round((LONG_EDGE * w) / h)), height: LONG_EDGE };
}

/**
 * A real PNG standing in for a generated image: a colour gradient picked by a hash of the prompt (and seed),
 * the prompt word-wrapped on top, and a sandbox label so nobody mistakes it for a paid result.
 */
export async function renderImage(request: RenderRequest): Promise<Buffer> {
  const { width, height } = imageSize(request.aspectRatio);
  const digest = createHash('sha256')
    .update(`${request.prompt}\u0000${request.seed ?? ''}`)
    .digest();
  const byte = (i: number): number => digest[i] ?? 0;

  const hueA = ((byte(0) << 8) | byte(1)) % 360;
  const hueB = (hueA + 40 + (byte(2) % 120)) % 360;
  const base = hslToRgb(hueA, 55 + (byte(3) % 25), 30 + (byte(4) % 20));
  const accent = rgbHex(hslToRgb(hueB, 60 + (byte(5) % 30), 45 + (byte(6) % 20)));
  const glow = rgbHex(hslToRgb((hueA + 180) % 360, 70, 60));
  const angle = byte(7) % 360;
  const glowX = Math.round(width * (0.15 + (byte(8) / 255) * 0.7));
  const glowY = Math.round(height * (0.15 + (byte(9) / 255) * 0.7));
  const glowR = Math.round(Math.min(width, height) * (0.25 + (byte(10) / 255) * 0.25));

  const margin = Math.round(Math.min(width, height) * 0.07);
  const fontSize = Math.max(14, Math.round(Math.min(width, height) * 0.05));
  const lineHeight = Math.round(fontSize * 1.3);
  const labelSize = Math.max(11, Math.round(fontSize * 0.45));
  // DejaVu Sans averages a little under 0.6 em per character; the estimate only has to keep lines inside.
  const maxChars = Math.max(8, Math.floor((width - 2 * margin) / (fontSize * 0.6)));
  const maxLines = Math.max(1, Math.min(12, Math.floor((height - 2 * margin - labelSize * 3) / lineHeight)));
  const lines = wrap(request.prompt, maxChars, maxLines);
  const blockTop = Math.round((height - lines.length * lineHeight) / 2) + fontSize;

  const text = lines
    .map((line, i) => `<tspan x="${width / 2}" y="${blockTop + i * lineHeight}">${escapeXml(line)}</tspan>`)
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs>` +
    `<linearGradient id="g" gradientTransform="rotate(${angle} 0.5 0.5)">` +
    `<stop offset="0" stop-color="${accent}" stop-opacity="0"/>` +
    `<stop offset="1" stop-color="${accent}" stop-opacity="1"/>` +
    `</linearGradient>` +
    `<radialGradient id="r"><stop offset="0" stop-color="${glow}" stop-opacity="0.45"/>` +
    `<stop offset="1" stop-color="${glow}" stop-opacity="0"/></radialGradient>` +
    `</defs>` +
    `<rect width="100%" height="100%" fill="url(#g)"/>` +
    `<circle cx="${glowX}" cy="${glowY}" r="${glowR}" fill="url(#r)"/>` +
    `<text font-family="DejaVu Sans, sans-serif" font-size="${fontSize}" fill="#ffffff" text-anchor="middle" ` +
    `stroke="#000000" stroke-opacity="0.35" stroke-width="${Math.max(1, Math.round(fontSize / 16))}" ` +
    `paint-order="stroke">${text}</text>` +
    `<text x="${width - Math.round(margin / 2)}" y="${height - Math.round(margin / 2)}" ` +
    `font-family="DejaVu Sans, sans-serif" font-size="${labelSize}" fill="#ffffff" fill-opacity="0.8" ` +
    `text-anchor="end">${escapeXml(`atelier-mcp sandbox · ${request.model}`)}</text>` +
    `</svg>`;

  return withSharp((sharp) =>
    sharp({ create: { width, height, channels: 3, background: base } })
      .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
      // Speed over size: a sandbox image lives for one test or one demo (level 3 is ~40% faster than 6).
      .png({ compressionLevel: 3 })
      .toBuffer(),
  );
}

function wrap(prompt: string, maxChars: number, maxLines: number): string[] {
  // Only the head of a 10 000-character prompt can ever be shown.
  const limit = maxChars * maxLines * 2;
  const words = clean(prompt.slice(0, limit)).split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    for (const chunk of chunks(word, maxChars)) {
      if (!current) current = chunk;
      else if (current.length + 1 + chunk.length <= maxChars) current = `${current} ${chunk}`;
      else {
        lines.push(current);
        current = chunk;
      }
    }
    if (lines.length > maxLines) break;
  }
  if (current) lines.push(current);
  if (lines.length === 0) return [''];
  if (lines.length > maxLines || prompt.length > limit) {
    const kept = lines.slice(0, maxLines);
    const last = kept.length - 1;
    kept[last] = `${Array.from(kept[last] ?? '')
      .slice(0, maxChars - 1)
      .join('')}…`;
    return kept;
  }
  return lines;
}

/** Splits on code points so an emoji is never cut into lone surrogates. */
function chunks(word: string, size: number): string[] {
  const points = Array.from(word);
  const out: string[] = [];
  for (let i = 0; i < points.length; i += size) out.push(points.slice(i, i + size).join(''));
  return out;
}

/** Characters XML 1.0 forbids (control codes, lone surrogates) would make librsvg reject the whole overlay. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|\p{Cs}/gu, ' ');
}

export function escapeXml(text: string): string {
  return clean(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function hslToRgb(h: number, s: number, l: number): { r: number; g: number; b: number } {
  const sat = s / 100;
  const light = l / 100;
  const k = (n: number) => (n + h / 30) % 12;
  const a = sat * Math.min(light, 1 - light);
  const f = (n: number) => light - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return { r: Math.round(f(0) * 255), g: Math.round(f(8) * 255), b: Math.round(f(4) * 255) };
}

function rgbHex({ r, g, b }: { r: number; g: number; b: number }): string {
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}
