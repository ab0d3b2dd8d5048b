import { randomBytes } from 'node:crypto';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config.js';
import { ConfigurationError, UserInputError } from '../errors.js';
import type { Logger } from '../log.js';
import { clientRoots, type RootsSource } from './client-roots.js';
import { inSystemTree, realPathOf } from './confine.js';

const SUBDIR = 'generated';

function describe(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}

/** Creates `dir` and writes then removes a probe file; returns why it failed, or undefined when writable. */
export async function probeWritable(dir: string): Promise<string | undefined> {
  try {
    // Kernel and device trees take no files, and some of their entries block whoever opens them.
    const { real } = await realPathOf(dir);
    if (inSystemTree(dir) || inSystemTree(real)) return `${real} is a system folder, not a place for files`;
    await mkdir(dir, { recursive: true });
    const probe = join(dir, `.atelier-probe-${randomBytes(6).toString('hex')}`);
    await writeFile(probe, '', { flag: 'wx' });
    await unlink(probe);
    return undefined;
  } catch (err) {
    return describe(err);
  }
}

/**
 * The absolute folder every output is saved under: the configured one, else generated/ under the client's
 * first root, else under the cwd, else under the user's data dir.
 */
export async function chooseOutputRoot(opts: {
  config: Pick<Config, 'outputDir' | 'cwd' | 'dataDir'>;
  roots: RootsSource;
  log: Logger;
}): Promise<string> {
  const { config, log } = opts;
  if (config.outputDir) {
    const problem = await probeWritable(config.outputDir);
    if (problem) {
      throw new UserInputError(
        `The output directory ${config.outputDir} cannot be created or written (${problem}).`,
        {
          next: 'Set ATELIER_OUTPUT_DIR (or --output-dir) to a folder this server can write, or unset it to use generated/ in the project.',
        },
      );
    }
    log.info(`Saving images under ${config.outputDir} (set by ATELIER_OUTPUT_DIR / --output-dir).`);
    return config.outputDir;
  }

  const tried: string[] = [];
  const { paths, note } = await clientRoots(opts.roots);
  const first = paths[0];
  if (first !== undefined) {
    const dir = join(first, SUBDIR);
    const problem = await probeWritable(dir);
    if (!problem) {
      log.info(`Saving images under ${dir} (generated/ in the client's first root).`);
      return dir;
    }
    tried.push(`${dir} is not writable (${problem})`);
  } else if (note) {
    tried.push(note);
  }

  const cwdDir = join(config.cwd, SUBDIR);
  const cwdProblem = await probeWritable(cwdDir);
  if (!cwdProblem) {
    log.info(`Saving images under ${cwdDir} (the working directory: ${tried.join('; ')}).`);
    return cwdDir;
  }
  tried.push(`${cwdDir} is not writable (${cwdProblem})`);

  const dataDir = join(config.dataDir, SUBDIR);
  const dataProblem = await probeWritable(dataDir);
  if (!dataProblem) {
    log.info(`Saving images under ${dataDir} (the user data dir: ${tried.join('; ')}).`);
    return dataDir;
  }
  tried.push(`${dataDir} is not writable (${dataProblem})`);
  throw new ConfigurationError('No writable folder for generated images.', {
    facts: tried,
    next: 'Set ATELIER_OUTPUT_DIR (or --output-dir) to a folder this server can write.',
  });
}
