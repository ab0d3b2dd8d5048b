import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';

describe('logger', () => {
  it('writes one line per entry: a newline in the message cannot start a forged entry', () => {
    const lines: string[] = [];
    const log = createLogger('debug', (l) => lines.push(l));
    log.info('generate_image failed: prompt "cat\n[atelier-mcp] error: key leaked\r\nok"');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.split('\n')).toEqual([
      '[atelier-mcp] info: generate_image failed: prompt "cat\\n[atelier-mcp] error: key leaked\\r\\nok"',
      '',
    ]);
  });

  it('escapes terminal escape sequences and bidi overrides', () => {
    const lines: string[] = [];
    createLogger('debug', (l) => lines.push(l)).warn('a\u001b[2Jb\u202ec');
    expect(lines[0]).toBe('[atelier-mcp] warn: a\\x1b[2Jb\\u202ec\n');
  });

  it('redacts before writing', () => {
    const lines: string[] = [];
    createLogger('debug', (l) => lines.push(l)).error('key pm_live_0123456789abcdef0123456789abcdef');
    expect(lines[0]).toBe('[atelier-mcp] error: key pm_live_***\n');
  });
});
