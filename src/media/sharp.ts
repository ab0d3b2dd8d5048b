import type Sharp from 'sharp';

let loaded: Promise<typeof Sharp> | undefined;
let queue: Promise<unknown> = Promise.resolve();

/** sharp, loaded once and set up. Loading it early is fine; run pipelines through withSharp. */
export function loadSharp(): Promise<typeof Sharp> {
  return (loaded ??= import('sharp').then(({ default: sharp }) => {
    sharp.concurrency(1);
    sharp.cache(false);
    return sharp;
  }));
}

/**
 * Runs `work` with sharp (loaded on first use), one pipeline at a time in this process. A server lives for a
 * whole session, and glibc gives each thread that mallocs an arena of its own, which it seldom gives back.
 * libvips' operation cache and a worker per core are off; pipelines side by side (four previews at once ran
 * on four libuv threads and ~12 libvips threads) still grew the arenas by 30-45 MB over 200 generations,
 * one at a time by ~8 MB (scripts/bench.mjs, memory). A preview takes ~35 ms: the fourth of four at once is
 * ~60 ms later than in parallel, next to generations that take seconds.
 */
export function withSharp<T>(work: (sharp: typeof Sharp) => Promise<T>): Promise<T> {
  const run = queue.then(async () => work(await loadSharp()));
  queue = run.catch(() => undefined);
  return run;
}
