import { describe, expect, it } from 'vitest';
import { prebuiltToolList, variantKey, type ToolListTable } from '../../src/mcp/tool-list.js';

const tool = (name: string) => ({ name });
const both = { providers: ['pixelmuse', 'modelslab'] as const, defaultProvider: 'pixelmuse' as const };
const table: ToolListTable = {
  initialize: { versions: [], result: {} },
  tools: [],
  entries: ['{"name":"a","x":1}', '{"name":"b"}'],
  index: {
    a: { [variantKey({ ...both, providers: [...both.providers] })]: 0 },
    b: { [variantKey({ ...both, providers: [...both.providers] })]: 1 },
  },
};

describe('prebuiltToolList', () => {
  it('answers the selected tools in their order from the table', () => {
    const list = prebuiltToolList([tool('b'), tool('a')], { ...both, providers: [...both.providers] }, table);
    expect(list?.()).toEqual([{ name: 'b' }, { name: 'a', x: 1 }]);
  });

  it('leaves the answer to the server when a variant or a tool was not prebuilt', () => {
    expect(
      prebuiltToolList(
        [tool('a')],
        { providers: ['modelslab', 'pixelmuse'], defaultProvider: 'pixelmuse' },
        table,
      ),
    ).toBeUndefined();
    expect(
      prebuiltToolList([tool('a'), tool('c')], { ...both, providers: [...both.providers] }, table),
    ).toBeUndefined();
  });
});
