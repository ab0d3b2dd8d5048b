import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StdioTransport } from '../src/stdio-transport.js';

function pair(max = 64) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const written: string[] = [];
  stdout.on('data', (c: Buffer) => written.push(...c.toString('utf8').split('\n').filter(Boolean)));
  const transport = new StdioTransport(stdin, stdout, max);
  const messages: unknown[] = [];
  const errors: string[] = [];
  transport.onmessage = (m) => messages.push(m);
  transport.onerror = (e) => errors.push(e.message);
  return {
    stdin,
    stdout,
    transport,
    messages,
    errors,
    replies: () => written.map((w) => JSON.parse(w) as unknown),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('StdioTransport', () => {
  it('reads messages split across chunks and several in one chunk, CRLF included', async () => {
    const t = pair(1024);
    await t.transport.start();
    t.stdin.write('{"jsonrpc":"2.0","method":"a"');
    t.stdin.write('}\r\n{"jsonrpc":"2.0","method":"b"}\n\n{"jsonrpc":"2.0","method":"c"}\n');
    await tick();
    expect(t.messages).toEqual(['a', 'b', 'c'].map((method) => ({ jsonrpc: '2.0', method })));
  });

  it.each([
    [
      'id last (the SDK order)',
      `{"method":"tools/call","params":{"x":"${'A'.repeat(200)}"},"jsonrpc":"2.0","id":7}`,
      7,
    ],
    [
      'id first',
      `{"jsonrpc":"2.0","id":"req-1","method":"tools/call","params":{"x":"${'A'.repeat(200)}"}}`,
      'req-1',
    ],
  ])('answers an oversize request (%s) with an error for its id, then reads on', async (_, line, id) => {
    const t = pair(64);
    await t.transport.start();
    t.stdin.write(`${line}\n{"jsonrpc":"2.0","method":"next"}\n`);
    await tick();
    expect(t.replies()).toEqual([
      { jsonrpc: '2.0', id, error: { code: -32600, message: expect.stringMatching(/^Request too large/) } },
    ]);
    expect(t.messages).toEqual([{ jsonrpc: '2.0', method: 'next' }]);
    expect(t.errors[0]).toMatch(/^dropped a JSON-RPC message of/);
  });

  it.each([
    ['a notification', `{"jsonrpc":"2.0","method":"n","params":{"x":"${'A'.repeat(200)}","id":3}}`],
    ['a response', `{"jsonrpc":"2.0","result":{"x":"${'A'.repeat(200)}"},"id":3}`],
  ])('drops %s over the limit without answering', async (_, line) => {
    const t = pair(64);
    await t.transport.start();
    t.stdin.write(`${line}\n`);
    await tick();
    expect(t.replies()).toEqual([]);
    expect(t.errors).toHaveLength(1);
  });

  it('reports a broken stdout (EPIPE) instead of throwing it', async () => {
    const t = pair(1024);
    await t.transport.start();
    t.stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    expect(t.errors).toEqual(['write EPIPE']);
  });

  it('reports a malformed line and goes on', async () => {
    const t = pair(1024);
    await t.transport.start();
    t.stdin.write('{"jsonrpc":\n{"jsonrpc":"2.0","method":"ok"}\n');
    await tick();
    expect(t.errors).toHaveLength(1);
    expect(t.messages).toEqual([{ jsonrpc: '2.0', method: 'ok' }]);
  });
});
