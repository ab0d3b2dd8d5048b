import { readdir, stat } from 'node:fs/promises';
import { readBoundedFile } from '../src/bounded-file.js';
import { join } from 'node:path';
import { parseTemplate, type PromptTemplate } from './template.js';

/** A user's file that was skipped, and why. */
export interface Problem {
  file: string;
  message: string;
}

/** Bounds on what a folder of hand-written files may cost: a template is a few hundred bytes. */
export const MAX_TEMPLATE_BYTES = 64 * 1024;
export const MAX_TEMPLATE_FILES = 200;

const TEMPLATE_FILE = /\.ya?ml$/i;

interface Cached {
  mtimeMs: number;
  size: number;
  result: PromptTemplate | Problem;
}

/**
 * Reads the *.yaml and *.yml files of `dir` (a missing folder is simply empty). Files are re-read only when their
 * size or time changed, so listing prompts again picks up edits without parsing everything again.
 */
export function createUserTemplateReader(dir: string) {
  const cache = new Map<string, Cached>();
  return async function read(): Promise<{ templates: PromptTemplate[]; problems: Problem[] }> {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => TEMPLATE_FILE.test(n)).sort();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { templates: [], problems: [] };
      return { templates: [], problems: [{ file: dir, message: `the folder cannot be read (${code})` }] };
    }
    const problems: Problem[] = [];
    if (names.length > MAX_TEMPLATE_FILES) {
      problems.push({
        file: dir,
        message: `${names.length} template files; only the first ${MAX_TEMPLATE_FILES} (by name) are read`,
      });
      names = names.slice(0, MAX_TEMPLATE_FILES);
    }
    const templates: PromptTemplate[] = [];
    const seen = new Map<string, string>();
    for (const name of names) {
      const file = join(dir, name);
      const result = await readOne(file, cache);
      if ('message' in result) {
        problems.push(result);
        continue;
      }
      const earlier = seen.get(result.name);
      if (earlier) {
        problems.push({ file, message: `the name ${result.name} is already used by ${earlier}` });
        continue;
      }
      seen.set(result.name, file);
      templates.push(result);
    }
    for (const file of cache.keys()) if (!names.some((n) => join(dir, n) === file)) cache.delete(file);
    return { templates, problems };
  };
}

async function readOne(file: string, cache: Map<string, Cached>): Promise<PromptTemplate | Problem> {
  let info;
  try {
    info = await stat(file);
  } catch (error) {
    return { file, message: `cannot be read (${(error as NodeJS.ErrnoException).code})` };
  }
  const hit = cache.get(file);
  if (hit && hit.mtimeMs === info.mtimeMs && hit.size === info.size) return hit.result;
  const read = await readBoundedFile(file, MAX_TEMPLATE_BYTES);
  const result: PromptTemplate | Problem =
    'bytes' in read
      ? await parseFile(read.bytes.toString('utf8'), file)
      : {
          file,
          message:
            read.problem === 'too large'
              ? `larger than ${MAX_TEMPLATE_BYTES / 1024} KB, the most a template may have`
              : `${read.problem}${read.code ? ` (${read.code})` : ''}`,
        };
  cache.set(file, { mtimeMs: info.mtimeMs, size: info.size, result });
  return result;
}

async function parseFile(text: string, file: string): Promise<PromptTemplate | Problem> {
  // Loaded only when a user has templates: the server's start never pays for a YAML parser.
  const yaml = await import('yaml');
  // Bundled by esbuild, a CommonJS package's exports sit on `default` (the e2e CLI test covers it).
  const { parse } =
    typeof yaml.parse === 'function' ? yaml : (yaml as unknown as { default: typeof yaml }).default;
  let document: unknown;
  try {
    document = parse(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (error) {
    return { file, message: `not valid YAML: ${firstLine((error as Error).message)}` };
  }
  try {
    return parseTemplate(document, file);
  } catch (error) {
    return { file, message: (error as Error).message };
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim().replace(/:$/, '');
}
