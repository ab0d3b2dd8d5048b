import { realpathSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { cleanEnv } from '../helpers/spawn.js';

// Imports nothing from test/setup/home.ts: what it sees is what vitest.config.ts's setupFiles did to every test file.

describe('every test file', () => {
  it('puts HOME, ATELIER_HOME and the XDG folders in a temporary folder, never the user’s own', () => {
    const temp = realpathSync(tmpdir());
    for (const name of ['HOME', 'ATELIER_HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME']) {
      expect(process.env[name], name).toMatch(new RegExp(`^${temp}/atelier-test-home-`));
    }
    expect(homedir()).toBe(process.env.HOME);
    const config = loadConfig({}, process.env);
    expect(config.home).toBe(process.env.ATELIER_HOME);
    const own = userInfo().homedir;
    expect(config.home).not.toBe(join(own, '.config', 'atelier-mcp'));
    expect(config.dataDir).not.toBe(join(own, '.local', 'share', 'atelier-mcp'));
    // A child started with the helpers' environment has the same temporary HOME.
    expect(cleanEnv().HOME).toBe(process.env.HOME);
    expect(join(cleanEnv().HOME!, '.config', 'atelier-mcp')).toBe(config.home);
  });
});
