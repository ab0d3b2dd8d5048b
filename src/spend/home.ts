import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../config.js';

const sandboxDirs = new WeakMap<Config, string>();

/**
 * Where money state lives: `ATELIER_HOME/spend`. The sandbox's emulators forget everything when the
 * process ends, so its keys and ledger go to a throwaway directory instead of mixing with real charges.
 */
export function spendDir(config: Config): string {
  if (!config.sandbox) return join(config.home, 'spend');
  let dir = sandboxDirs.get(config);
  if (!dir) {
    dir = join(tmpdir(), `atelier-sandbox-${process.pid}-${randomBytes(4).toString('hex')}`);
    sandboxDirs.set(config, dir);
  }
  return dir;
}
