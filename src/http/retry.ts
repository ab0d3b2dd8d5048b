/** How long a server asked us to wait, from Retry-After (seconds or HTTP date) or X-RateLimit-Reset. */
export function retryAfterMs(headers: Record<string, string>, now = Date.now()): number | undefined {
  const retryAfter = headers['retry-after'];
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const reset = headers['x-ratelimit-reset'];
  if (reset !== undefined && headers['x-ratelimit-remaining'] === '0') {
    const at = resetEpochMs(reset, now);
    if (at !== undefined) return Math.max(0, at - now);
  }
  return undefined;
}

/** X-RateLimit-Reset as epoch ms; providers disagree on the unit: epoch ms, epoch seconds, or seconds from now. */
export function resetEpochMs(reset: string, now = Date.now()): number | undefined {
  const value = Number(reset);
  if (!Number.isFinite(value)) return undefined;
  if (value > 1e12) return value;
  if (value > 1e9) return value * 1000;
  return now + value * 1000;
}

/** Exponential backoff with full jitter: spreads retries from many clients instead of synchronising them. */
export function backoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export const RETRYABLE_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
