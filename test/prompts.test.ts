import { afterEach, describe, expect, it } from 'vitest';
import { PROMPTS, renderTemplate } from '../prompts/index.js';
import { startHarness, type Harness } from './helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

describe('prompts', () => {
  it('fills {{vars}} and falls back for missing optional ones', () => {
    expect(renderTemplate('A {{a}} with {{b|soft light}}{{c}}.', { a: 'fox' })).toBe(
      'A fox with soft light.',
    );
  });

  it('serves every catalog prompt over MCP with its arguments', async () => {
    h = await startHarness();
    const { prompts } = await h.client.listPrompts();
    expect(prompts.map((p) => p.name)).toEqual(PROMPTS.map((p) => p.name));
    const hero = await h.client.getPrompt({
      name: 'hero_image',
      arguments: { product: 'a note-taking app' },
    });
    const text = (hero.messages[0]!.content as { text: string }).text;
    expect(text).toContain('landing page of a note-taking app');
    expect(text).toContain('clean, modern, confident');
    expect(text).not.toContain('{{');
    const started = await h.client.getPrompt({ name: 'get_started' });
    expect((started.messages[0]!.content as { text: string }).text).toContain('account_status');
  });
});
