import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProgressReporter } from '../src/progress.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function sink() {
  const sent: Array<{ progress: number; message: string; at: number }> = [];
  const controller = new AbortController();
  return {
    sent,
    controller,
    sink: {
      signal: controller.signal,
      send: async (p: { progress: number; message: string }) => void sent.push({ ...p, at: Date.now() }),
    },
  };
}

describe('progress reporter', () => {
  it('sends the first report at once, then the latest message at most every 5 s, increasing', () => {
    const { sent, sink: s } = sink();
    const reporter = createProgressReporter(s);
    reporter.report('submitted');
    reporter.report('processing');
    expect(sent.map((p) => p.message)).toEqual(['submitted (0 s)']);
    vi.advanceTimersByTime(4_999);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent.map((p) => p.message)).toEqual(['submitted (0 s)', 'processing (5 s)']);
    vi.advanceTimersByTime(10_000);
    expect(sent).toHaveLength(4);
    for (let i = 1; i < sent.length; i++) {
      expect(sent[i]!.progress).toBeGreaterThan(sent[i - 1]!.progress);
      expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(5_000);
    }
    reporter.stop();
  });

  it('sends a milestone at once, between heartbeats, still increasing; never after stop', () => {
    const { sent, sink: s } = sink();
    const reporter = createProgressReporter(s);
    reporter.report('deploying_gpu', undefined, true);
    vi.advanceTimersByTime(1_200);
    reporter.report('training_started', undefined, true);
    reporter.report('still training_started');
    expect(sent.map((p) => p.message)).toEqual(['deploying_gpu (0 s)', 'training_started (1 s)']);
    expect(sent[1]!.progress).toBeGreaterThan(sent[0]!.progress);
    reporter.stop();
    reporter.report('model_ready', undefined, true);
    expect(sent).toHaveLength(2);
  });

  it('sends nothing after stop or after the request was cancelled', () => {
    const a = sink();
    const stopped = createProgressReporter(a.sink);
    stopped.report('x');
    stopped.stop();
    stopped.report('y');
    vi.advanceTimersByTime(20_000);
    expect(a.sent).toHaveLength(1);

    const b = sink();
    const cancelled = createProgressReporter(b.sink);
    cancelled.report('x');
    b.controller.abort();
    vi.advanceTimersByTime(20_000);
    expect(b.sent).toHaveLength(1);
    cancelled.stop();
  });

  it('is a no-op without a progress token', () => {
    const reporter = createProgressReporter(undefined);
    expect(() => reporter.report('x')).not.toThrow();
    reporter.stop();
  });
});
