import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { listToolsAsClient } from '../../src/mcp/tools-as-client.js';
import { createServices } from '../../src/services.js';
import { selectTools } from '../../src/tool-selection.js';
import { TOOLS } from '../../tools/index.js';
import { PUBLIC_TOOL_NAMES } from '../helpers/public-api.js';

const services = (flags: Parameters<typeof loadConfig>[0] = {}) =>
  createServices(loadConfig(flags, {}, '/tmp'), silentLogger, { env: {}, memory: {} });

describe('tool registry', () => {
  it('has one file per tool, named after the tool, and nothing else in tools/', async () => {
    const files = (await readdir(new URL('../../tools/', import.meta.url)))
      .filter((f) => f.endsWith('.ts') && !['define.ts', 'index.ts', 'params.ts'].includes(f))
      .map((f) => f.replace(/\.ts$/, ''));
    expect(files.sort()).toEqual(TOOLS.map((t) => t.name).sort());
    for (const name of files) {
      const mod = (await import(`../../tools/${name}.ts`)) as { default: { name: string } };
      expect(mod.default.name).toBe(name);
    }
  });

  it('gives every tool a title, a description for a model, and all four annotations', () => {
    for (const tool of TOOLS) {
      expect(tool.title.length).toBeGreaterThan(3);
      expect(tool.description.length, tool.name).toBeGreaterThan(120);
      expect(tool.description.length).toBeLessThanOrEqual(2048);
      expect(tool.description).toMatch(/free|cost|charge/i);
      for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
        expect(typeof tool.annotations[hint], `${tool.name}.${hint}`).toBe('boolean');
      }
    }
  });

  it('lists the schemas clients see (snapshot: an intended API change updates it with -u)', async () => {
    const tools = await listToolsAsClient(services({ toolsets: 'all' }));
    expect(tools.map((t) => t.name)).toEqual(PUBLIC_TOOL_NAMES);
    for (const tool of tools) {
      // Claude Code drops content blocks (our previews) when a result has structuredContent.
      expect(tool.outputSchema, String(tool.name)).toBeUndefined();
      expect(tool).toMatchSnapshot(String(tool.name));
    }
  });
});

describe('tool selection', () => {
  const names = (flags: Parameters<typeof loadConfig>[0]) =>
    selectTools(TOOLS, loadConfig(flags, {}, '/tmp')).map((t) => t.name);

  it('--read-only keeps exactly the tools whose readOnlyHint is true', () => {
    expect(names({ readOnly: true })).toEqual(
      TOOLS.filter((t) => t.annotations.readOnlyHint).map((t) => t.name),
    );
    expect(names({ readOnly: true })).not.toContain('generate_image');
  });

  it('--toolsets keeps only the named toolsets', () => {
    expect(names({ toolsets: 'images' })).toEqual([
      'pixelmuse_list_images',
      'pixelmuse_update_image',
      'pixelmuse_delete_image',
    ]);
    expect(names({ toolsets: 'generate,billing' })).toEqual(
      TOOLS.filter((t) => ['generate', 'billing'].includes(t.toolset)).map((t) => t.name),
    );
    expect(names({ toolsets: 'generate,billing' })).toContain('modelslab_fund_wallet');
  });

  it('--providers hides every tool that none of the enabled providers backs', () => {
    expect(names({ providers: 'pixelmuse' })).toEqual(
      TOOLS.filter((t) => t.providers.includes('pixelmuse')).map((t) => t.name),
    );
    expect(names({ providers: 'pixelmuse' })).not.toContain('modelslab_login');
    expect(names({ providers: 'pixelmuse' })).not.toContain('modelslab_fund_wallet');
    expect(names({ providers: 'modelslab', toolsets: 'all' })).toEqual(
      TOOLS.filter((t) => t.providers.includes('modelslab') && t.toolset !== 'admin').map((t) => t.name),
    );
    // No image tool works with ModelsLab: refuse rather than serve nothing.
    expect(() => names({ providers: 'modelslab', toolsets: 'images' })).toThrow(
      /No tool matches toolsets images, providers modelslab/,
    );
  });

  it('lists the admin toolset only when it is named', () => {
    const admin = TOOLS.filter((t) => t.toolset === 'admin').map((t) => t.name);
    expect(admin).toEqual([
      'modelslab_team',
      'modelslab_invoices',
      'modelslab_billing_info',
      'modelslab_coupon',
      'modelslab_auto_funding',
      'modelslab_reset_password',
    ]);
    for (const off of [{}, { toolsets: 'all' }, { toolsets: 'account,billing' }])
      expect(names(off).filter((n) => admin.includes(n))).toEqual([]);
    expect(names({ toolsets: 'all,admin' })).toEqual(TOOLS.map((t) => t.name));
    expect(names({ toolsets: 'admin' })).toEqual(admin);
  });

  it('turns train on by default only where ModelsLab is configured, or when named', () => {
    const train = (flags: Parameters<typeof loadConfig>[0], env: Record<string, string> = {}) =>
      selectTools(TOOLS, loadConfig(flags, env, '/tmp'))
        .map((t) => t.name)
        .filter((n) => n.startsWith('modelslab_train'));
    expect(train({})).toEqual([]);
    expect(train({ providers: 'modelslab' })).toEqual([]);
    expect(train({}, { MODELSLAB_API_KEY: 'k' })).toEqual(['modelslab_train_lora', 'modelslab_training']);
    expect(train({}, { MODELSLAB_TOKEN: 't' })).toHaveLength(2);
    expect(train({ sandbox: true })).toHaveLength(2);
    expect(train({ toolsets: 'generate,train' })).toHaveLength(2);
    expect(train({ toolsets: 'all' })).toHaveLength(2);
    expect(train({ toolsets: 'generate' }, { MODELSLAB_API_KEY: 'k' })).toEqual([]);
  });

  it('rejects unknown toolsets and providers with the valid values', () => {
    expect(() => loadConfig({ toolsets: 'images,videos' }, {}, '/tmp')).toThrow(/Unknown toolset: videos/);
    expect(() => loadConfig({}, { ATELIER_PROVIDERS: 'dalle' }, '/tmp')).toThrow(/Unknown provider: dalle/);
  });
});

describe('tools/list schemas', () => {
  it("leave out zod's safe-integer bounds and string keys of records, and keep every other bound", async () => {
    const tools = await listToolsAsClient(services({ toolsets: 'all,admin' }));
    const text = JSON.stringify(tools);
    expect(text).not.toContain(String(Number.MAX_SAFE_INTEGER));
    expect(text).not.toContain('"propertyNames":{"type":"string"}');
    // A record whose keys are limited keeps saying which.
    expect(text).toContain('"propertyNames":{"type":"string","enum":["name"');
    const schema = (name: string) =>
      (tools.find((t) => t.name === name)!.inputSchema as { properties: Record<string, object> }).properties;
    expect(schema('modelslab_subscribe').plan_id).toEqual(
      expect.objectContaining({ type: 'integer', exclusiveMinimum: 0 }),
    );
    expect(schema('generate_image').seed).toEqual(expect.objectContaining({ type: 'integer', minimum: 0 }));
    expect(schema('generate_image').params).toEqual(expect.objectContaining({ type: 'object' }));
  });
});
