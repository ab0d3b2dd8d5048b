import { appendFile, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PROVIDERS, type Provider } from '../config.js';
import type { Cost } from '../generation/adapter.js';
import type { JobOutcome } from '../generation/outcome.js';
import type { Logger } from '../log.js';

export interface GenerationFile {
  path: string;
  mimeType: string;
  bytes: number;
  width?: number;
  height?: number;
}

/** One provider job whose outputs were saved; saving the same job again (get_generation) adds its files. */
export interface GenerationRecord {
  /** `<provider>-<job id>`: the `{id}` of atelier://generations/{id}. */
  key: string;
  provider: Provider;
  jobId: string;
  model: string;
  prompt?: string;
  cost?: Cost;
  files: GenerationFile[];
  /** ISO time of the latest save. */
  savedAt: string;
}

/** One line of generations.jsonl, written when a job's outputs are saved. */
interface Line {
  provider: Provider;
  id: string;
  model: string;
  prompt?: string;
  cost?: Cost;
  files: GenerationFile[];
  at: string;
}

export interface Generations {
  /** Remembers a succeeded job's saved files; never throws (a failing disk only costs persistence). */
  record(outcome: JobOutcome): Promise<GenerationRecord>;
  /** Newest first. */
  list(): Promise<GenerationRecord[]>;
  get(key: string): Promise<GenerationRecord | undefined>;
  /** Called after each record, e.g. to tell the client the resource list changed. */
  onRecord(listener: () => void): void;
}

/** The part of generations.jsonl read at most: the newest entries, ~40,000 of them. */
const MAX_INDEX_READ_BYTES = 16 * 1024 * 1024;

function generationKey(provider: Provider, jobId: string): string {
  return `${provider}-${jobId}`;
}

/**
 * The record of saved generations. With a file (ATELIER_HOME/generations.jsonl) it is an append-only index that
 * survives restarts and is shared by every server process; the sandbox passes none and keeps it in memory, so its
 * images never mix with real ones. The file is read incrementally: only what was appended since the last read.
 */
export function openGenerations(opts: { file?: string; log: Logger }): Generations {
  const { file, log } = opts;
  const byKey = new Map<string, GenerationRecord>();
  const listeners: Array<() => void> = [];
  let offset = 0;
  let reading: Promise<void> | undefined;
  let warnedWrite = false;

  function merge(line: Line): GenerationRecord {
    const key = generationKey(line.provider, line.id);
    const known = byKey.get(key);
    const paths = new Set(known?.files.map((f) => f.path));
    const record: GenerationRecord = {
      key,
      provider: line.provider,
      jobId: line.id,
      model: line.model,
      ...((line.prompt ?? known?.prompt) !== undefined ? { prompt: line.prompt ?? known?.prompt } : {}),
      ...((line.cost ?? known?.cost) !== undefined ? { cost: line.cost ?? known?.cost } : {}),
      files: [...(known?.files ?? []), ...line.files.filter((f) => !paths.has(f.path))],
      savedAt: line.at,
    };
    // Re-inserted so that Map order is save order: the newest save lists first.
    byKey.delete(key);
    byKey.set(key, record);
    return record;
  }

  async function readNew(): Promise<void> {
    if (!file) return;
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        log.warn(`generations index ${file} unreadable: ${(error as Error).message}`);
      return;
    }
    try {
      const { size } = await handle.stat();
      if (size < offset) offset = 0; // replaced or truncated by hand: start over
      const start = Math.max(offset, size - MAX_INDEX_READ_BYTES);
      if (start >= size) return;
      const buffer = Buffer.alloc(size - start);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
      const bytes = buffer.subarray(0, bytesRead);
      // Starting mid-file (a huge index) lands inside a line: skip to the next full one.
      const begin = start > offset ? bytes.indexOf(0x0a) + 1 : 0;
      // A line still being appended (no newline yet) is read next time.
      const end = bytes.lastIndexOf(0x0a);
      if (end < begin) return;
      offset = start + end + 1;
      const text = bytes.subarray(begin, end).toString('utf8');
      for (const raw of text.split('\n')) {
        const line = parseLine(raw);
        if (line) merge(line);
        else if (raw.trim()) log.warn(`generations index ${file}: skipped a line that is not a record`);
      }
    } finally {
      await handle.close();
    }
  }

  const refresh = (): Promise<void> => {
    reading ??= readNew().finally(() => (reading = undefined));
    return reading;
  };

  return {
    async record(outcome) {
      const line: Line = {
        provider: outcome.provider,
        id: outcome.id,
        model: outcome.model,
        ...(outcome.prompt !== undefined ? { prompt: outcome.prompt } : {}),
        ...(outcome.cost !== undefined && !outcome.replayed ? { cost: outcome.cost } : {}),
        files: outcome.saved.map((s) => ({
          path: s.path,
          mimeType: s.mimeType,
          bytes: s.bytes,
          ...(s.width !== undefined ? { width: s.width } : {}),
          ...(s.height !== undefined ? { height: s.height } : {}),
        })),
        at: new Date().toISOString(),
      };
      if (file) {
        try {
          await refresh();
          await mkdir(dirname(file), { recursive: true });
          // One write of one line with O_APPEND: concurrent servers never interleave inside a line.
          await appendFile(file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
        } catch (error) {
          if (!warnedWrite)
            log.warn(
              `generations index ${file} not written (${(error as Error).message}); this session remembers its images in memory only`,
            );
          warnedWrite = true;
        }
      }
      const record = merge(line);
      for (const listener of listeners) listener();
      return record;
    },
    async list() {
      await refresh();
      return [...byKey.values()].reverse();
    },
    async get(key) {
      await refresh();
      return byKey.get(key);
    },
    onRecord(listener) {
      listeners.push(listener);
    },
  };
}

/** A line written by another version, or edited by hand, is checked before it is believed. */
function parseLine(raw: string): Line | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const l = value as Partial<Line> | null;
  if (
    !l ||
    typeof l !== 'object' ||
    !(PROVIDERS as readonly string[]).includes(l.provider as string) ||
    typeof l.id !== 'string' ||
    l.id === '' ||
    typeof l.model !== 'string' ||
    typeof l.at !== 'string' ||
    !Array.isArray(l.files) ||
    !l.files.every((f) => f && typeof f.path === 'string' && typeof f.mimeType === 'string')
  )
    return undefined;
  return l as Line;
}
