import type { RateInfo } from './exchange.js';

const WINDOW_MS = 60_000;

/** Fixed one-minute windows per bucket, as Laravel's and Pixelmuse's limiters count. */
export class WindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  constructor(private readonly now: () => number) {}

  consume(bucket: string, limit: number): RateInfo {
    const t = this.now();
    let window = this.windows.get(bucket);
    if (!window || t >= window.start + WINDOW_MS) {
      window = { start: t, count: 0 };
      this.windows.set(bucket, window);
    }
    window.count += 1;
    const resetMs = window.start + WINDOW_MS;
    return {
      limit,
      remaining: Math.max(0, limit - window.count),
      reset: Math.ceil(resetMs / 1000),
      retryAfter: Math.max(1, Math.ceil((resetMs - t) / 1000)),
      limited: window.count > limit,
    };
  }
}
