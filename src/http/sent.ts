import { subscribe, unsubscribe } from 'node:diagnostics_channel';

/** undici publishes here once a request, headers and body, has been written to its socket. */
const BODY_SENT = 'undici:request:bodySent';

/**
 * Runs `work` once, as soon as this process has written its next HTTP request: the moment a create request is
 * with the provider and the process only waits. Work that blocks the event loop (loading a native module) then
 * costs no time, where run before the request it would delay the job itself. The returned function cancels
 * `work` if it has not run yet (say, the request failed before it was sent).
 */
export function whenNextRequestSent(work: () => void): () => void {
  let done = false;
  const onSent = (): void => {
    cancel();
    // Not inside undici's write callback.
    setImmediate(work);
  };
  const cancel = (): void => {
    if (done) return;
    done = true;
    unsubscribe(BODY_SENT, onSent);
  };
  subscribe(BODY_SENT, onSent);
  return cancel;
}
