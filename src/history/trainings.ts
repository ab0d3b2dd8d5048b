import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { readBoundedFile } from '../bounded-file.js';
import type { Logger } from '../log.js';

/** What is known of one ModelsLab LoRA training; its id is also the model id that generates with it. */
export interface TrainingRecord {
  id: string;
  /** ModelsLab's last word: deploying_gpu … model_ready, or what it said instead. */
  status: string;
  state: 'running' | 'ready' | 'failed' | 'canceled' | 'deleted';
  baseModelType: 'normal' | 'sdxl';
  instancePrompt: string;
  images: number;
  /** ISO times. */
  startedAt: string;
  updatedAt: string;
  etaMinutes?: number;
}

export interface Trainings {
  /** Writes what changed (a new training, a new status); never throws: a failing disk costs only persistence. */
  save(record: Omit<TrainingRecord, 'updatedAt'>): Promise<TrainingRecord>;
  get(id: string): Promise<TrainingRecord | undefined>;
  /** Newest first. */
  list(): Promise<TrainingRecord[]>;
  /** Called after each save, e.g. to tell the client the resource list changed. */
  onSave(listener: () => void): void;
}

/** More than anyone trains: the file is read whole, so it is bounded. */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Trainings this server started or followed, in ATELIER_HOME/trainings.jsonl: one line per change, the last
 * line of an id wins, so a new process (or a restart mid-training) picks every one up by id. The sandbox keeps
 * them in memory, as its generations.
 */
export function openTrainings(opts: { file?: string; log: Logger }): Trainings {
  const { file, log } = opts;
  const memory = new Map<string, TrainingRecord>();
  const listeners: Array<() => void> = [];
  let warned = false;

  const read = async (): Promise<Map<string, TrainingRecord>> => {
    if (!file) return memory;
    const got = await readBoundedFile(file, MAX_FILE_BYTES);
    const all = new Map<string, TrainingRecord>();
    if (!('bytes' in got)) {
      if (got.problem !== 'missing') log.warn(`trainings: ${file} is ${got.problem}; it is ignored`);
      return all;
    }
    for (const line of got.bytes.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const record = JSON.parse(line) as TrainingRecord;
        if (typeof record.id === 'string' && typeof record.status === 'string') all.set(record.id, record);
      } catch {
        // A torn last line (a crash mid-append) is skipped; the lines before it stand.
      }
    }
    return all;
  };

  return {
    async save(update) {
      const record: TrainingRecord = { ...update, updatedAt: new Date().toISOString() };
      memory.set(record.id, record);
      if (file) {
        try {
          await mkdir(dirname(file), { recursive: true, mode: 0o700 });
          await appendFile(file, `${JSON.stringify(record)}\n`, { mode: 0o600 });
        } catch (error) {
          if (!warned)
            log.warn(`trainings: cannot write ${file} (${String(error)}); ids live in this session only`);
          warned = true;
        }
      }
      for (const listener of listeners) listener();
      return record;
    },
    async get(id) {
      return (await read()).get(id) ?? memory.get(id);
    },
    async list() {
      const all = await read();
      for (const [id, record] of memory) if (!all.has(id)) all.set(id, record);
      return [...all.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt));
    },
    onSave(listener) {
      listeners.push(listener);
    },
  };
}
