export interface ProgressSink {
  /** Sends one notifications/progress; resolves when written. */
  send(params: { progress: number; message: string }): Promise<void>;
  signal: AbortSignal;
}

export interface ProgressReporter {
  report(message: string): void;
  /** Must run before the result is returned: nothing may follow the response (Cursor drops the session). */
  stop(): void;
}

/**
 * Progress is a heartbeat: the first report goes out at once, then the latest message every
 * `intervalMs` while the call runs (Claude Code resets its idle timer on each), never more often,
 * never after stop() or cancellation. `progress` is elapsed seconds, so it always increases.
 */
export function createProgressReporter(
  sink: ProgressSink | undefined,
  intervalMs = 5_000,
  now: () => number = Date.now,
): ProgressReporter {
  if (!sink) return { report() {}, stop() {} };
  const started = now();
  let message: string | undefined;
  let last = -1;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const flush = () => {
    if (stopped || sink.signal.aborted || message === undefined) return;
    const elapsed = Math.round((now() - started) / 100) / 10;
    const progress = Math.max(elapsed, Number((last + 0.1).toFixed(1)));
    last = progress;
    // The elapsed time makes each heartbeat tell the user something even when the state has not changed.
    sink.send({ progress, message: `${message} (${Math.round(elapsed)} s)` }).catch(() => {
      // A failed notification must never fail the tool call.
    });
  };

  return {
    report(next) {
      message = next;
      if (timer || stopped) return;
      flush();
      timer = setInterval(flush, intervalMs);
      timer.unref();
    },
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
