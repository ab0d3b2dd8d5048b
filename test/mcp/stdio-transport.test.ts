import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StdioTransport } from '../../src/mcp/stdio-transport.js';

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

  it("holds what it reads before start(), answers early what `early` answers, and drops the SDK's same answer", async () => {
    const t = pair(1024);
    const first = t.transport.listen((m) =>
      (m as { method?: string }).method === 'initialize'
        ? { jsonrpc: '2.0', id: 1, result: { v: 1 } }
        : undefined,
    );
    t.stdin.write(
      '{"jsonrpc":"2.0","id":1,"method":"initialize"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n',
    );
    await first;
    await tick();
    // Answered at once; nothing delivered before start().
    expect(t.replies()).toEqual([{ jsonrpc: '2.0', id: 1, result: { v: 1 } }]);
    expect(t.messages).toEqual([]);
    await t.transport.start();
    expect(t.messages).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'initialize' },
      { jsonrpc: '2.0', id: 2, method: 'ping' },
    ]);
    // The SDK's own answers: the one already sent is dropped, the other goes out.
    await t.transport.send({ jsonrpc: '2.0', id: 1, result: { v: 1 } });
    await t.transport.send({ jsonrpc: '2.0', id: 2, result: {} });
    await tick();
    expect(t.replies()).toEqual([
      { jsonrpc: '2.0', id: 1, result: { v: 1 } },
      { jsonrpc: '2.0', id: 2, result: {} },
    ]);
    expect(t.errors).toEqual([]);
  });

  it('reports an SDK answer that differs from the one sent early, and still sends only one', async () => {
    const t = pair(1024);
    void t.transport.listen(() => ({ jsonrpc: '2.0', id: 1, result: { v: 1 } }));
    t.stdin.write('{"jsonrpc":"2.0","id":1,"method":"initialize"}\n');
    await tick();
    await t.transport.start();
    await t.transport.send({ jsonrpc: '2.0', id: 1, result: { v: 2 } });
    await tick();
    expect(t.replies()).toEqual([{ jsonrpc: '2.0', id: 1, result: { v: 1 } }]);
    expect(t.errors).toEqual([
      expect.stringMatching(/answer sent early to request 1 differs from the SDK's/),
    ]);
  });

  it('reports a long difference by the start of each side, not in full', async () => {
    const t = pair(1024 * 1024);
    void t.transport.listen(() => ({ jsonrpc: '2.0', id: 1, result: { tools: 'a'.repeat(20_000) } }));
    t.stdin.write('{"jsonrpc":"2.0","id":1,"method":"tools/list"}\n');
    await tick();
    await t.transport.start();
    await t.transport.send({ jsonrpc: '2.0', id: 1, result: { tools: 'b'.repeat(20_000) } });
    expect(t.errors).toHaveLength(1);
    expect(t.errors[0]!.length).toBeLessThan(1_000);
    expect(t.errors[0]).toMatch(/… \(20012 characters\) against \{"tools":"b+… \(20012 characters\)$/);
  });

  it('reports a line that is not JSON read before start() once started, in its place', async () => {
    const t = pair(1024);
    void t.transport.listen(() => undefined);
    t.stdin.write('{"jsonrpc":\n{"jsonrpc":"2.0","method":"ok"}\n');
    await tick();
    expect(t.errors).toEqual([]);
    const seen: string[] = [];
    t.transport.onerror = (e) => seen.push(`error: ${e.message}`);
    t.transport.onmessage = (m) => seen.push(`message: ${(m as { method: string }).method}`);
    await t.transport.start();
    expect(seen).toEqual([expect.stringMatching(/^error: ignored a line that is not JSON: /), 'message: ok']);
  });

  it("says in one line why a message is not JSON-RPC, not in zod's multi-line JSON", async () => {
    const t = pair(1024);
    await t.transport.start();
    t.stdin.write(
      '{"jsonrpc":"2.0","id":6,"method":"tools/list","params":{"_meta":5}}\n{"jsonrpc":"2.0","id":7}\n',
    );
    await tick();
    expect(t.errors).toEqual([
      'ignored a message that is not valid JSON-RPC tools/list (id 6): params._meta: Invalid input: expected object, received number',
      'ignored a message that is not valid JSON-RPC (id 7): method: Invalid input: expected string, received undefined',
    ]);
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
