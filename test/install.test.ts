import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/spawn.js';

// `npm ci` is a newcomer's first command: it should print no warning. npm warns (EBADENGINE) about a package whose
// engines.node this Node does not satisfy, and (npm 11) about a package whose install script the project's
// allowScripts does not cover. Both are read from package-lock.json, which decides what npm ci installs.

interface Locked {
  engines?: { node?: string } | string[];
  hasInstallScript?: boolean;
  optional?: boolean;
}

const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, Locked>;
};
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  allowScripts?: Record<string, boolean>;
};
// semver comes with sharp (a dependency); npm itself judges engines with it.
const semver = createRequire(join(ROOT, 'package.json'))('semver') as {
  satisfies(version: string, range: string): boolean;
};
const name = (path: string) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);

describe('npm ci', () => {
  it(`installs nothing whose engines exclude this Node (${process.version})`, () => {
    const refused = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && !Array.isArray(p.engines) && p.engines?.node !== undefined)
      .filter(([, p]) => !semver.satisfies(process.version, (p.engines as { node: string }).node))
      .map(([path, p]) => `${name(path)} needs Node ${(p.engines as { node: string }).node}`);
    expect(refused).toEqual([]);
  });

  it('has a decision in allowScripts for every package with an install script', () => {
    const undecided = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.hasInstallScript)
      .map(([path]) => name(path))
      .filter((n) => pkg.allowScripts?.[n] === undefined);
    expect(undecided).toEqual([]);
  });
});
