import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Which providers have a credential in a lasting store (keychain or file) under this ATELIER_HOME: a small
 * non-secret note, so that the start-up, which opens no keychain before `initialize` is answered, can still
 * tell that ModelsLab is configured (the `train` toolset is on by default only then). Credentials written
 * through src/credentials/ keep it current; a missing or unreadable note means "none".
 */
const FILE = 'stored-providers.json';
const MAX_BYTES = 4_096;

export type StoredProvider = 'modelslab';

export function storedProviders(home: string): Set<StoredProvider> {
  try {
    const text = readFileSync(join(home, FILE), 'utf8');
    if (Buffer.byteLength(text) > MAX_BYTES) return new Set();
    const note = JSON.parse(text) as unknown;
    return new Set(
      note !== null && typeof note === 'object' && (note as Record<string, unknown>).modelslab === true
        ? ['modelslab']
        : [],
    );
  } catch {
    return new Set();
  }
}

export async function noteStored(home: string, provider: StoredProvider, stored: boolean): Promise<void> {
  const now = storedProviders(home);
  if (now.has(provider) === stored) return;
  if (stored) now.add(provider);
  else now.delete(provider);
  const note = Object.fromEntries([...now].map((p) => [p, true]));
  await mkdir(home, { recursive: true, mode: 0o700 });
  // node:crypto stays out of the start-up (config.ts reads this module): the name only has to be unique here.
  const tmp = join(home, `${FILE}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    await writeFile(tmp, `${JSON.stringify(note)}\n`, { mode: 0o600 });
    await rename(tmp, join(home, FILE));
  } finally {
    await rm(tmp, { force: true });
  }
}
