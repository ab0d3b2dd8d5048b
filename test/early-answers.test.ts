import { describe, expect, it } from 'vitest';
import { earlyAnswers } from '../src/early-answers.js';

const initialize = {
  versions: ['2025-11-25', '2025-06-18', '2024-11-05'],
  result: { capabilities: { tools: {} }, serverInfo: { name: 'atelier-mcp', version: '9' } },
};
const tools = () => [{ name: 'generate_image' }];
const init = (params: Record<string, unknown>, id: string | number = 1) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'c', version: '1' },
    ...params,
  },
});
const list = (id: number, params?: unknown) => ({ jsonrpc: '2.0', id, method: 'tools/list', params });

describe('earlyAnswers', () => {
  it('answers initialize with the version the client asked for when the SDK speaks it, else the latest', () => {
    expect(earlyAnswers(initialize, tools)(init({}))).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { protocolVersion: '2025-06-18', ...initialize.result },
    });
    expect(earlyAnswers(initialize, tools)(init({ protocolVersion: '1999-01-01' }, 'a'))).toEqual({
      jsonrpc: '2.0',
      id: 'a',
      result: { protocolVersion: '2025-11-25', ...initialize.result },
    });
  });

  it('answers tools/list only after an initialize it answered', () => {
    const early = earlyAnswers(initialize, tools);
    expect(early(init({}))).toBeDefined();
    expect(early({ jsonrpc: '2.0', method: 'notifications/initialized' })).toBeUndefined();
    expect(early(list(2))).toEqual({ jsonrpc: '2.0', id: 2, result: { tools: tools() } });
    expect(early(list(3, { _meta: { progressToken: 1 } }))).toBeDefined();

    const unanswered = earlyAnswers(initialize, tools);
    expect(unanswered(init({ clientInfo: undefined }))).toBeUndefined();
    expect(unanswered(list(2))).toBeUndefined();
  });

  it('leaves to the SDK what it might answer otherwise', () => {
    // Not the first message, a bad id, missing or mistyped params: the SDK decides (and may refuse).
    const early = earlyAnswers(initialize, tools);
    expect(early({ jsonrpc: '2.0', id: 1, method: 'ping' })).toBeUndefined();
    expect(early(init({}))).toBeUndefined();
    for (const message of [
      init({}, 1.5),
      init({ protocolVersion: 20250618 }),
      init({ capabilities: [] }),
      init({ clientInfo: { name: 'c' } }),
      { ...init({}), jsonrpc: '1.0' },
    ]) {
      expect(earlyAnswers(initialize, tools)(message), JSON.stringify(message)).toBeUndefined();
    }
    const answered = earlyAnswers(initialize, tools);
    answered(init({}));
    expect(answered(list(2, { cursor: 'next' }))).toBeUndefined();
    // Without a prebuilt list (a variant the build did not compute), tools/list waits for the SDK.
    const noList = earlyAnswers(initialize, undefined);
    expect(noList(init({}))).toBeDefined();
    expect(noList(list(2))).toBeUndefined();
  });
});
