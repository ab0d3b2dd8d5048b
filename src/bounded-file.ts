import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export type BoundedRead =
  | { bytes: Buffer }
  | {
      problem: 'missing' | 'not a regular file' | 'too large' | 'being written' | 'unreadable';
      code?: string;
    };

// O_NONBLOCK: a FIFO given a template's or an image's name would otherwise block the open until a writer comes.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0);

/**
 * The bytes of a regular file of at most `maxBytes`, or why not. The type is checked on the opened descriptor, and
 * the read stops one byte past what stat() said, so a file that grows meanwhile is caught too.
 */
export async function readBoundedFile(path: string, maxBytes: number): Promise<BoundedRead> {
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? { problem: 'missing' } : { problem: 'unreadable', ...(code ? { code } : {}) };
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { problem: 'not a regular file' };
    if (info.size > maxBytes) return { problem: 'too large' };
    const buffer = Buffer.alloc(info.size + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > maxBytes) return { problem: 'too large' };
    // More bytes than stat() reported: half of a file still being written is not its content.
    if (filled > info.size) return { problem: 'being written' };
    return { bytes: buffer.subarray(0, filled) };
  } finally {
    await handle.close();
  }
}
