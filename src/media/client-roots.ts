import { fileURLToPath } from 'node:url';
import { isInputRequired } from '../mcp/round-trip.js';

export type RootsSource = () => Promise<string[]>;

// A client that never answers roots/list must not stall the first save for the SDK's 60 s request timeout.
const ROOTS_TIMEOUT_MS = 5_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface ClientRoots {
  paths: string[];
  /** Why there are none, for the log line that explains the choice of output root. */
  note?: string;
}

/** The client's file:// roots as local paths. A client without roots support rejects: that counts as none. */
export async function clientRoots(roots: RootsSource): Promise<ClientRoots> {
  let uris: string[];
  try {
    uris = await withTimeout(roots(), ROOTS_TIMEOUT_MS);
  } catch (err) {
    // 2026-07-28: the roots are asked of the client by a round trip; the call ends here and is retried.
    if (isInputRequired(err)) throw err;
    return {
      paths: [],
      note: `the client did not list roots (${err instanceof Error ? err.message : String(err)})`,
    };
  }
  const paths: string[] = [];
  for (const uri of uris) {
    if (!uri.startsWith('file:')) continue;
    try {
      paths.push(fileURLToPath(uri));
    } catch {
      // A malformed file URI (e.g. a remote host) cannot be a local folder.
    }
  }
  return paths.length > 0 ? { paths } : { paths, note: 'the client listed no file:// roots' };
}

/** The folder relative paths are read from: the client's first root, else the server's cwd. */
export async function projectDir(roots: RootsSource, cwd: string): Promise<string> {
  const { paths } = await clientRoots(roots);
  return paths[0] ?? cwd;
}
