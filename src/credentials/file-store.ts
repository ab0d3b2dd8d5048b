import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ConfigurationError } from '../errors.js';

export const CREDENTIAL_FILE = 'credentials.json';

/**
 * Credentials as a JSON object name -> value in one file, for machines without a usable keychain.
 * Directory 0700, file 0600, every write atomic (temp file in the same directory, then rename).
 */
export class FileStore {
  // Writes are read-modify-write: serialise them so two saves in one process cannot lose each other.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly path: string) {}

  async get(name: string): Promise<string | undefined> {
    const value = (await this.read())[name];
    return value === undefined || value === '' ? undefined : value;
  }

  set(name: string, value: string): Promise<void> {
    return this.update((all) => {
      all[name] = value;
      return true;
    }).then(() => undefined);
  }

  /** True when the name was in the file. */
  delete(name: string): Promise<boolean> {
    return this.update((all) => {
      if (!Object.hasOwn(all, name)) return false;
      delete all[name];
      return true;
    });
  }

  async read(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if (code(err) === 'ENOENT') return {};
      throw new ConfigurationError(
        `The credential file ${this.path} cannot be read (${code(err) ?? 'error'}).`,
        {
          next: `Make ${this.path} readable by this user, or set the key in its env var instead.`,
        },
      );
    }
    // JSON.parse messages quote the text they choke on: never pass them on, the text is secrets.
    let parsed: unknown;
    try {
      // Editors on Windows (Notepad, PowerShell's Out-File) start UTF-8 files with a byte order mark.
      parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch {
      throw this.corrupt('is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw this.corrupt('is not a JSON object');
    }
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string') throw this.corrupt(`holds a non-string value for "${key}"`);
      out[key] = value;
    }
    return out;
  }

  private corrupt(what: string): ConfigurationError {
    return new ConfigurationError(`The credential file ${this.path} ${what}.`, {
      next: `Fix or delete ${this.path}, then save the keys again (or set them in their env vars).`,
    });
  }

  private update(change: (all: Record<string, string>) => boolean): Promise<boolean> {
    const run = this.queue.then(async () => {
      const all = await this.read();
      if (!change(all)) return false;
      await this.write(all);
      return true;
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(all: Record<string, string>): Promise<void> {
    const dir = dirname(this.path);
    const temp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const created = await mkdir(dir, { recursive: true, mode: 0o700 });
      // mkdir's mode passes through the umask; set it outright on the directory we made.
      if (created !== undefined) await chmod(dir, 0o700);
      // The temp file is born 0600 and replaces the old file, so a looser old mode does not survive.
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(all, null, 2)}\n`, 'utf8');
        await handle.chmod(0o600);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      throw new ConfigurationError(
        `The credential file ${this.path} cannot be written (${code(err) ?? 'error'}).`,
        {
          next: `Make ${dir} writable by this user, or set ATELIER_HOME to a directory that is.`,
        },
      );
    }
  }
}

function code(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}
