import { ApiError, json } from '../core/exchange.js';
import { canonicalJson, ReplayStore } from '../core/idempotency.js';
import { userOf, type ModelslabEnv, type ModelslabExchange } from './server.js';

/** What a billing mutation's handler answers when it went through (a 402 decline is thrown as an ApiError). */
export type MutationRun = (ctx: ModelslabExchange, params: string[]) => { status: number; data: unknown };

/**
 * Billing mutations as the docs describe them ("all billing mutations accept an Idempotency-Key"): the same key
 * with the same request answers what the first answered, with `idempotency_replay: true`, and moves no money;
 * another request under that key is a conflict. `holds`: paths whose next mutation is carried out but never
 * answered (a lost answer, for the crash tests).
 */
export function billingMutations({ server, now }: Pick<ModelslabEnv, 'server' | 'now'>, holds: Set<string>) {
  const replays = new ReplayStore(
    now,
    () =>
      new ApiError(422, 'idempotency_conflict', 'This Idempotency-Key was used with a different request.'),
  );
  return (run: MutationRun) => async (ctx: ModelslabExchange, params: string[]) => {
    const key = ctx.headers['idempotency-key'];
    const slot = `${userOf(ctx).id}:${key}`;
    const canonical = canonicalJson({ path: ctx.path, method: ctx.method, body: ctx.body });
    if (key) {
      const stored = await replays.replay(slot, canonical);
      if (stored) {
        json(ctx, stored.status, { ...(stored.body as object), idempotency_replay: true });
        return;
      }
    }
    let answer: { status: number; body: unknown };
    try {
      const { status, data } = run(ctx, params);
      answer = { status, body: { data, error: null, meta: { request_id: ctx.requestId } } };
    } catch (error) {
      // A decline is an answer like any other: replayed, not charged again.
      if (!(error instanceof ApiError) || error.status !== 402) throw error;
      answer = {
        status: 402,
        body: {
          data: null,
          error: { code: error.code, message: error.message, details: error.details ?? {} },
        },
      };
    }
    if (key) replays.remember(slot, canonical, Promise.resolve(answer));
    if (holds.delete(ctx.path)) await server.sleep(24 * 3_600_000);
    json(ctx, answer.status, answer.body);
  };
}
