import { spawn, spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REAL, takeProblems } from './home.js';

// test/setup/home.ts catches a test that points itself or a child process back at the user's own folders
// (test/setup/applied.test.ts checks that it runs before every test file).

describe('the test home guard', () => {
  it('refuses to start a child process whose environment reaches the user’s folders', () => {
    const env = { PATH: process.env.PATH, ATELIER_HOME: REAL.home };
    expect(() => spawnSync(process.execPath, ['-e', ''], { env })).toThrow(
      /reaches the user's configuration/,
    );
    expect(() =>
      spawn(process.execPath, ['-e', ''], {
        env: { HOME: process.env.HOME, XDG_DATA_HOME: dirname(REAL.data) },
      }),
    ).toThrow(/data folder is the user's own/);
    // Each would fail this test once it ends, even when the test caught the throw.
    expect(takeProblems()).toHaveLength(2);
  });

  it('fails a test that points process.env back at the user’s folders, and puts the temporary ones back', () => {
    const own = process.env.ATELIER_HOME;
    process.env.ATELIER_HOME = REAL.home;
    expect(takeProblems()).toEqual([
      expect.stringMatching(/^process\.env was changed: its atelier-mcp home/),
    ]);
    expect(process.env.ATELIER_HOME).toBe(own);
  });
});
