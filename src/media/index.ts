import type { Config } from '../config.js';
import type { ProviderName } from '../errors.js';
import type { Logger } from '../log.js';
import { projectDir } from './client-roots.js';
import { readInputImage } from './input.js';
import { loadOutput, loadPdf } from './load.js';
import { chooseOutputRoot } from './output-root.js';
import { DEFAULT_PREVIEW_EDGE, makePreview, type Preview } from './preview.js';
import { saveImage, type SavedImage } from './save.js';
import { loadSharp } from './sharp.js';
import { resolveTarget, type Target } from './target.js';

export type { Preview, SavedImage, Target };

export interface Media {
  /** Absolute output root for this session (cached after the first call). */
  root(): Promise<string>;
  /** Validate output_dir / filename BEFORE anything is generated or charged; throws UserInputError on escapes. */
  target(opts: { outputDir?: string; filename?: string }): Promise<Target>;
  /** Decode a data: URI (base64 or percent-encoded) or download an http(s) URL (timeout, size cap, signal). */
  load(ref: string, opts: { signal: AbortSignal; provider: ProviderName }): Promise<Buffer>;
  /** Download a PDF (an invoice) from an http(s) URL: bounded, and refused unless the bytes are a PDF. */
  loadPdf(url: string, opts: { signal: AbortSignal; provider: ProviderName }): Promise<Buffer>;
  /** Atomically write bytes under target.dir with a unique, non-clobbering name and the extension of the sniffed type. */
  save(bytes: Buffer, target: Target, opts: { fallbackName: string; source?: string }): Promise<SavedImage>;
  /** Downscaled preview (long edge <= maxEdge, default 768); undefined (and a logged warning) if the bytes can't be decoded. */
  preview(bytes: Buffer, maxEdge?: number): Promise<Preview | undefined>;
  /**
   * Start loading what save and preview need (sharp: a native module, tens of ms, far more on a busy machine)
   * so that it is ready when the job completes. Never throws; a load failure shows where sharp is used.
   */
  warm(): void;
  /** For input_image: http(s)/data: URLs pass through; a local path (absolute, or relative to the project dir = first client root else cwd) is read (<= 10 MB, must sniff as an image) and returned as a data: URL. */
  readInput(pathOrUrl: string): Promise<string>;
  /** The folder project paths are read from: the client's first root, else the cwd. */
  project(): Promise<string>;
}

export function createMedia(opts: {
  config: Pick<Config, 'outputDir' | 'cwd' | 'dataDir'>;
  roots: () => Promise<string[]>;
  log: Logger;
}): Media {
  const { config, roots, log } = opts;
  let rootPromise: Promise<string> | undefined;

  const root = (): Promise<string> => {
    if (!rootPromise) {
      rootPromise = chooseOutputRoot({ config, roots, log });
      // A failure (say, a folder the user is about to fix) must not stick for the whole session.
      rootPromise.catch(() => {
        rootPromise = undefined;
      });
    }
    return rootPromise;
  };

  return {
    root,
    async target(targetOpts) {
      return resolveTarget(await root(), targetOpts);
    },
    load(ref, loadOpts) {
      return loadOutput(ref, loadOpts);
    },
    loadPdf(url, loadOpts) {
      return loadPdf(url, loadOpts);
    },
    save(bytes, target, saveOpts) {
      return saveImage(bytes, target, saveOpts);
    },
    preview(bytes, maxEdge = DEFAULT_PREVIEW_EDGE) {
      return makePreview(bytes, maxEdge, log);
    },
    warm() {
      loadSharp().catch(() => undefined);
    },
    readInput(pathOrUrl) {
      return readInputImage(pathOrUrl, () => projectDir(roots, config.cwd));
    },
    project() {
      return projectDir(roots, config.cwd);
    },
  };
}
