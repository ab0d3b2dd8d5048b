import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config.js';
import { spendDir } from '../../src/spend/home.js';

const configWith = (over: Partial<Config>): Config => ({
  ...loadConfig({}, {}, '/home/someone/.atelier'),
  home: '/home/someone/.atelier',
  ...over,
});

describe('where money state lives', () => {
  it('is ATELIER_HOME/spend outside the sandbox', () => {
    expect(spendDir(configWith({ sandbox: false }))).toBe(join('/home/someone/.atelier', 'spend'));
  });

  it('is a throwaway directory in the sandbox, the same one for the life of its config', () => {
    const sandbox = configWith({ sandbox: true });
    const dir = spendDir(sandbox);
    expect(dirname(dir)).toBe(tmpdir());
    expect(dir).toMatch(new RegExp(`/atelier-sandbox-${process.pid}-[0-9a-f]{8}$`));
    expect(dir).not.toContain(sandbox.home);
    expect(spendDir(sandbox)).toBe(dir);
    // Another sandbox server (another config) never shares it.
    expect(spendDir(configWith({ sandbox: true }))).not.toBe(dir);
  });
});
