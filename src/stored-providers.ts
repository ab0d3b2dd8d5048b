import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Which providers have a credential in a lasting store (keychain or file) under this ATELIER_HOME: a small
 * non-secret note, so that the start-up, which opens no keychain before `initialize` is answered, can still
 * tell that ModelsLab is configured (the `train` toolset is on by default only then). Credentials written
 * through src/credentials/ keep it current (noteStored there); a missing or unreadable note means "none".
 */
export const STORED_PROVIDERS_FILE = 'stored-providers.json';
const MAX_BYTES = 4_096;

export type StoredProvider = 'modelslab';

export function storedProviders(home: string): Set<StoredProvider> {
  try {
    const text = readFileSync(join(home, STORED_PROVIDERS_FILE), 'utf8');
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
