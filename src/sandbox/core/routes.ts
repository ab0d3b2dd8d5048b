import { safeDecode, type Exchange } from './exchange.js';

/** One endpoint: a method, a pathname pattern whose groups become `params` (decoded), a handler. */
export interface Route<X extends Exchange = Exchange, A extends string = string> {
  method: string;
  pattern: RegExp;
  /** How the caller must authenticate; each emulator defines its own kinds. */
  auth: A;
  run(ex: X, params: string[]): void | Promise<void>;
}

export function matchRoute<R extends Route<never, string>>(
  routes: readonly R[],
  method: string,
  path: string,
): { route: R; params: string[] } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match) return { route, params: match.slice(1).map((p) => safeDecode(p)) };
  }
  return undefined;
}
