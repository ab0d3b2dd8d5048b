import type Sharp from 'sharp';

let loaded: Promise<typeof Sharp> | undefined;

/**
 * sharp, loaded on first use and set up once. A server process lives for a whole session and makes images one
 * after another: libvips' operation cache and one worker thread per core each keep a glibc malloc arena of their
 * own, which made RSS grow by ~80 MB over 200 generations. One thread and no cache keep it flat; a preview or a
 * save is a single small pipeline, so neither costs time a user sees.
 */
export function loadSharp(): Promise<typeof Sharp> {
  return (loaded ??= import('sharp').then(({ default: sharp }) => {
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  }));
}
