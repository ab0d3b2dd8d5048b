import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { listToolsAsClient } from '../src/mcp/tools-as-client.js';
import { createServices } from '../src/services.js';

// A client pays for the whole tools/list in context on every turn. Budgets in approximate tokens (JSON length / 4)
// of what the client receives, every provider enabled: the default toolsets with and without ModelsLab configured
// (TOTAL; `train` joins where it is), and with the opt-in admin toolset added (WITH_ADMIN). The per-tool cap is a
// ceiling, not a target: aim for 150. README "Development" states the same rule.
const TOTAL = 6_000;
const WITH_ADMIN = 8_000;
const PER_TOOL = 250;
// The two tools that save images carry the shared saving parameters (tools/params.ts); generate_image also
// carries both providers' options and the two-step MPP payment (payment, confirmation_token).
const PER_TOOL_EXCEPTIONS: Record<string, number> = { generate_image: 760, get_generation: 350 };

const tokens = (value: unknown) => Math.ceil(JSON.stringify(value).length / 4);

async function listed(flags: Parameters<typeof loadConfig>[0], env: Record<string, string> = {}) {
  const config = loadConfig({ providers: 'all', ...flags }, env, '/tmp');
  return listToolsAsClient(createServices(config, silentLogger, { env: {}, memory: {} }));
}

function overBudget(tools: Array<Record<string, unknown>>) {
  return (
    tools
      // The _meta that makes the client ask the human before a money tool (~13 tokens) is a safety marker, not
      // wording to trade against: it counts toward the totals, not toward the tool's own cap.
      .map(({ _meta: _, ...t }) => ({ name: String(t.name), tokens: tokens(t) }))
      .filter((t) => t.tokens > (PER_TOOL_EXCEPTIONS[t.name] ?? PER_TOOL))
  );
}

describe('context budget of tools/list', () => {
  it('keeps the default list within budget, with ModelsLab configured (train on) or not', async () => {
    const bare = await listed({});
    expect(bare.map((t) => t.name)).not.toContain('modelslab_train_lora');
    expect(tokens({ tools: bare })).toBeLessThanOrEqual(TOTAL);
    const withModelsLab = await listed({}, { MODELSLAB_API_KEY: 'k' });
    expect(withModelsLab.map((t) => t.name)).toContain('modelslab_train_lora');
    expect(withModelsLab.map((t) => t.name)).not.toContain('modelslab_team');
    expect(tokens({ tools: withModelsLab })).toBeLessThanOrEqual(TOTAL);
  });

  it('keeps the list with the admin toolset, and every tool, within budget', async () => {
    const tools = await listed({ toolsets: 'all,admin' });
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['modelslab_team', 'modelslab_train_lora', 'modelslab_reset_password']),
    );
    expect(
      overBudget(tools),
      'tools over their budget (shorten the description; share parameters via tools/params.ts)',
    ).toEqual([]);
    expect(tokens({ tools })).toBeLessThanOrEqual(WITH_ADMIN);
  });
});
