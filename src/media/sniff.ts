export interface Sniffed {
  mimeType: string;
  /** Without the dot. */
  ext: string;
  width?: number;
  height?: number;
}

export const UNKNOWN: Sniffed = { mimeType: 'application/octet-stream', ext: 'bin' };

/** Extensions a user may put on `filename` that we drop, since the bytes decide the real one. */
export const IMAGE_EXTENSIONS = new Set([
  'png',
  'jpg',
  'jpeg',
  'jpe',
  'jfif',
  'webp',
  'gif',
  'avif',
  'heic',
  'heif',
  'bin',
  'tif',
  'tiff',
  'bmp',
  'pdf',
]);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ascii(bytes: Buffer, start: number, end: number): string {
  return bytes.subarray(start, end).toString('latin1');
}

function sniffPng(bytes: Buffer): Sniffed {
  const out: Sniffed = { mimeType: 'image/png', ext: 'png' };
  // IHDR is always the first chunk: length(4) type(4) width(4) height(4).
  if (bytes.length >= 24 && ascii(bytes, 12, 16) === 'IHDR') {
    out.width = bytes.readUInt32BE(16);
    out.height = bytes.readUInt32BE(20);
  }
  return out;
}

// SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG extension) and CC (DAC) share the range but don't.
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function sniffJpeg(bytes: Buffer): Sniffed {
  const out: Sniffed = { mimeType: 'image/jpeg', ext: 'jpg' };
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return out;
    // Any number of 0xFF fill bytes may precede a marker.
    while (i < bytes.length && bytes[i] === 0xff) i++;
    const marker = bytes[i];
    i++;
    if (marker === undefined) return out;
    // Standalone markers (RSTn, SOI, TEM) have no length field.
    if ((marker >= 0xd0 && marker <= 0xd8) || marker === 0x01) continue;
    if (marker === 0xd9 || marker === 0xda || i + 2 > bytes.length) return out;
    const length = bytes.readUInt16BE(i);
    if (isStartOfFrame(marker)) {
      if (i + 7 <= bytes.length) {
        out.height = bytes.readUInt16BE(i + 3);
        out.width = bytes.readUInt16BE(i + 5);
      }
      return out;
    }
    if (length < 2) return out;
    i += length;
  }
  return out;
}

function sniffGif(bytes: Buffer): Sniffed {
  const out: Sniffed = { mimeType: 'image/gif', ext: 'gif' };
  if (bytes.length >= 10) {
    out.width = bytes.readUInt16LE(6);
    out.height = bytes.readUInt16LE(8);
  }
  return out;
}

function sniffWebp(bytes: Buffer): Sniffed {
  const out: Sniffed = { mimeType: 'image/webp', ext: 'webp' };
  const chunk = ascii(bytes, 12, 16);
  if (chunk === 'VP8 ' && bytes.length >= 30) {
    // Lossy: 3-byte frame tag, start code 9d 01 2a, then 14-bit width and height (2 scale bits each).
    if (bytes[23] === 0x9d && bytes[24] === 0x01 && bytes[25] === 0x2a) {
      out.width = bytes.readUInt16LE(26) & 0x3fff;
      out.height = bytes.readUInt16LE(28) & 0x3fff;
    }
  } else if (chunk === 'VP8L' && bytes.length >= 25) {
    // Lossless: signature 0x2f, then width-1 and height-1 as two 14-bit fields, little-endian bit order.
    if (bytes[20] === 0x2f) {
      const bits = bytes.readUInt32LE(21);
      out.width = (bits & 0x3fff) + 1;
      out.height = ((bits >>> 14) & 0x3fff) + 1;
    }
  } else if (chunk === 'VP8X' && bytes.length >= 30) {
    // Extended: flags(4) then canvas width-1 and height-1 as 24-bit little-endian.
    out.width = bytes.readUIntLE(24, 3) + 1;
    out.height = bytes.readUIntLE(27, 3) + 1;
  }
  return out;
}

const AVIF_BRANDS = new Set(['avif', 'avis']);
const HEIC_BRANDS = new Set(['heic', 'heix', 'heim', 'heis', 'hevc', 'hevx']);
const HEIF_BRANDS = new Set(['mif1', 'msf1']);

function sniffIsoBmff(bytes: Buffer): Sniffed | undefined {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== 'ftyp') return undefined;
  const boxEnd = Math.min(bytes.readUInt32BE(0), bytes.length);
  const brands = [ascii(bytes, 8, 12)];
  for (let i = 16; i + 4 <= boxEnd; i += 4) brands.push(ascii(bytes, i, i + 4));
  // AVIF files also list mif1, so the codec-specific brands are checked first.
  if (brands.some((b) => AVIF_BRANDS.has(b))) return { mimeType: 'image/avif', ext: 'avif' };
  if (brands.some((b) => HEIC_BRANDS.has(b))) return { mimeType: 'image/heic', ext: 'heic' };
  if (brands.some((b) => HEIF_BRANDS.has(b))) return { mimeType: 'image/heif', ext: 'heif' };
  return undefined;
}

/** The real type of some bytes from their magic numbers, with width and height where the header has them. */
export function sniff(bytes: Buffer): Sniffed {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return sniffPng(bytes);
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff)
    return sniffJpeg(bytes);
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(ascii(bytes, 0, 6))) return sniffGif(bytes);
  if (bytes.length >= 16 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP')
    return sniffWebp(bytes);
  // Invoices: saved by the same door as images, with their own type.
  if (bytes.length >= 5 && ascii(bytes, 0, 5) === '%PDF-') return { mimeType: 'application/pdf', ext: 'pdf' };
  return sniffIsoBmff(bytes) ?? { ...UNKNOWN };
}

export function isImage(sniffed: Sniffed): boolean {
  return sniffed.mimeType.startsWith('image/');
}
