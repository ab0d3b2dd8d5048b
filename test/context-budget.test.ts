import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { listToolsAsClient } from '../src/mcp/tools-as-client.js';
import { createServices } from '../src/services.js';

// A client pays for the whole tools/list in context on every turn. Budgets in approximate tokens (JSON length / 4)
// of what the client receives: each tool with every toolset and provider enabled, the whole default list. ~30 tools must fit in TOTAL, so the per-tool
// cap is a ceiling, not a target: aim for 150. README "Development" states the same rule.
const TOTAL = 6_000;
const PER_TOOL = 250;
// The two tools that save images carry the shared saving parameters (tools/params.ts); generate_image also
// carries both providers' options and the two-step MPP payment (payment, confirmation_token).
const PER_TOOL_EXCEPTIONS: Record<string, number> = { generate_image: 760, get_generation: 350 };

const tokens = (value: unknown) => Math.ceil(JSON.stringify(value).length / 4);

describe('context budget of tools/list', () => {
  it('keeps the whole list and every tool within budget', async () => {
    const config = loadConfig({ toolsets: 'all', providers: 'all' }, {}, '/tmp');
    const tools = await listToolsAsClient(createServices(config, silentLogger, { env: {}, memory: {} }));
    const over = tools
      // The _meta that makes the client ask the human before a money tool (~13 tokens) is a safety marker, not
      // wording to trade against: it counts toward TOTAL, not toward the tool's own cap.
      .map(({ _meta: _, ...t }) => ({ name: String(t.name), tokens: tokens(t) }))
      .filter((t) => t.tokens > (PER_TOOL_EXCEPTIONS[t.name] ?? PER_TOOL));
    expect(
      over,
      'tools over their budget (shorten the description; share parameters via tools/params.ts)',
    ).toEqual([]);
    // TOTAL is what a client gets by default; `train` joins it only where ModelsLab is configured (README "Tools").
    const byDefault = await listToolsAsClient(
      createServices(loadConfig({}, {}, '/tmp'), silentLogger, { env: {}, memory: {} }),
    );
    expect(byDefault.map((t) => t.name)).not.toContain('modelslab_train_lora');
    expect(tokens({ tools: byDefault })).toBeLessThanOrEqual(TOTAL);
  });
});
