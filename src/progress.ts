export interface ProgressSink {
  /** Sends one notifications/progress; resolves when written. */
  send(params: { progress: number; total?: number; message: string }): Promise<void>;
  signal: AbortSignal;
}

export interface ProgressReporter {
  /**
   * `etaSeconds`: how long the provider expects the work to take still; it makes a `total` known. A `milestone`
   * (a training reaching its next status) goes out at once, whenever the last heartbeat was.
   */
  report(message: string, etaSeconds?: number, milestone?: boolean): void;
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
  /** Epoch ms at which the provider expects to be done, when it said. */
  let doneAt: number | undefined;
  let last = -1;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const flush = () => {
    if (stopped || sink.signal.aborted || message === undefined) return;
    const elapsed = Math.round((now() - started) / 100) / 10;
    const progress = Math.max(elapsed, Number((last + 0.1).toFixed(1)));
    last = progress;
    // In the same unit as progress (seconds since the start), and never behind it.
    const total =
      doneAt === undefined ? undefined : Math.max(progress, Math.round((doneAt - started) / 100) / 10);
    // The elapsed time makes each heartbeat tell the user something even when the state has not changed.
    const text = `${message} (${Math.round(elapsed)} s)`;
    sink
      .send(total === undefined ? { progress, message: text } : { progress, total, message: text })
      .catch(() => {
        // A failed notification must never fail the tool call.
      });
  };

  return {
    report(next, etaSeconds, milestone) {
      message = next;
      doneAt = etaSeconds === undefined ? undefined : now() + etaSeconds * 1000;
      if (stopped) return;
      if (timer && milestone) flush();
      if (timer) return;
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
