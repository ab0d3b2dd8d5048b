import type * as Undici from 'undici';

let loading: Promise<typeof Undici> | undefined;

/**
 * undici is a third of the bundle and ~80 ms of evaluation, and only a tool call needs it: it loads on first use,
 * or in the warm-up right after `initialize` is answered (src/mcp/server.ts). Import its types statically, never its
 * values. Bundled, a CommonJS package's only export is `default`; unbundled (tests), Node adds named ones too.
 */
export function loadUndici(): Promise<typeof Undici> {
  return (loading ??= import('undici').then(
    (m) => (m as unknown as { default?: typeof Undici }).default ?? m,
  ));
}
