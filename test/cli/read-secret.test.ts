import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readSecret } from '../../src/cli/read-secret.js';

/** A stand-in for a terminal: a stream with isTTY and setRawMode that records the mode changes. */
function fakeTerminal() {
  const modes: boolean[] = [];
  const input = Object.assign(new PassThrough(), {
    isTTY: true,
    isRaw: false,
    setRawMode(mode: boolean) {
      modes.push(mode);
      input.isRaw = mode;
      return input;
    },
  });
  let written = '';
  const output = new PassThrough();
  output.on('data', (chunk: Buffer) => (written += chunk.toString('utf8')));
  return { input, output, modes, written: () => written };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('readSecret, piped input', () => {
  it('returns the first non-empty line, trimmed, and prints no prompt', async () => {
    const output = new PassThrough();
    let written = '';
    output.on('data', (c: Buffer) => (written += c.toString()));
    const value = await readSecret({
      prompt: 'Key: ',
      input: Readable.from(['\n  \n', '  pm_test_abc', '123  \r\nsecond line\n']),
      output,
    });
    expect(value).toBe('pm_test_abc123');
    expect(written).toBe('');
  });

  it('returns an empty string for empty input', async () => {
    expect(await readSecret({ prompt: 'Key: ', input: Readable.from([]) })).toBe('');
  });
});

describe('readSecret, terminal', () => {
  it('reads without echo, handles backspace and escape sequences, and restores the mode', async () => {
    const t = fakeTerminal();
    const secret = readSecret({ prompt: 'Pixelmuse API key: ', input: t.input, output: t.output });
    await tick();
    expect(t.input.isRaw).toBe(true);
    // Typed "pm_tesx", backspace, "t_", an arrow key, then a pasted rest and Enter.
    t.input.write('pm_tesx');
    t.input.write('\u007ft_');
    t.input.write('\u001b[D');
    t.input.write(Buffer.from('key42\r'));
    expect(await secret).toBe('pm_test_key42');
    expect(t.written()).toBe('Pixelmuse API key: \n');
    expect(t.modes).toEqual([true, false]);
    expect(t.input.isRaw).toBe(false);
    expect(t.input.listenerCount('data')).toBe(0);
  });

  it('Ctrl-C rejects with "cancelled" and still restores the mode', async () => {
    const t = fakeTerminal();
    const secret = readSecret({ prompt: 'Key: ', input: t.input, output: t.output });
    await tick();
    t.input.write('pm_live_sec');
    t.input.write('\u0003');
    await expect(secret).rejects.toThrow('cancelled');
    expect(t.modes).toEqual([true, false]);
    expect(t.written()).toBe('Key: \n');
  });

  it('Ctrl-D on an empty line cancels; after text it submits', async () => {
    const empty = fakeTerminal();
    const cancelled = readSecret({ prompt: 'Key: ', input: empty.input, output: empty.output });
    await tick();
    empty.input.write('\u0004');
    await expect(cancelled).rejects.toThrow('cancelled');

    const typed = fakeTerminal();
    const submitted = readSecret({ prompt: 'Key: ', input: typed.input, output: typed.output });
    await tick();
    typed.input.write('abc\u0004');
    expect(await submitted).toBe('abc');
    expect(typed.written()).toBe('Key: \n');
  });

  it('restores a terminal that was already raw to raw', async () => {
    const t = fakeTerminal();
    t.input.isRaw = true;
    const secret = readSecret({ prompt: 'Key: ', input: t.input, output: t.output });
    await tick();
    t.input.write('x\n');
    expect(await secret).toBe('x');
    expect(t.modes).toEqual([true, true]);
  });
});
