import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_MODELSLAB_EMAIL, SANDBOX_MODELSLAB_KEY } from '../../src/sandbox/index.js';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

describe('modelslab_api_keys', () => {
  it('lists keys masked', async () => {
    h = await startHarness();
    const text = textOf(await h.call('modelslab_api_keys', {}));
    expect(text).toMatch(/^1 ModelsLab API key\(s\):\n- #\d+ "Default" SbxM…c7e9, created \d{4}-\d\d-\d\d$/);
    expect(text).not.toContain(SANDBOX_MODELSLAB_KEY);
  });

  it('create stores the new key for generation and shows it masked', async () => {
    h = await startHarness();
    const text = textOf(
      await h.call('modelslab_api_keys', { action: 'create', name: 'ci', notes: 'for CI' }),
    );
    const user = h.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!;
    const created = user.apiKeys.at(-1)!;
    expect(text).toMatch(
      /^Created ModelsLab API key #\d+ "ci"\.\nStored \w\w…\w{4} in memory; atelier-mcp generates with it/,
    );
    expect(text).not.toContain(created.key);
    expect(textOf(await h.call('account_status'))).toContain(
      `${created.key.slice(0, 2)}…${created.key.slice(-4)}`,
    );
  });

  it('create with store: false shows the full key once and stores nothing', async () => {
    h = await startHarness();
    const text = textOf(
      await h.call('modelslab_api_keys', { action: 'create', name: 'elsewhere', store: false }),
    );
    const created = h.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!.apiKeys.at(-1)!;
    expect(text).toContain(`shown only this once (store it now): ${created.key}`);
    expect(textOf(await h.call('account_status'))).toContain('Sb…c7e9');
  });

  it('delete warns when the deleted key is the stored one; a wrong id is a 404 with a next step', async () => {
    h = await startHarness();
    const id = h.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!.apiKeys[0]!.id;
    const text = textOf(await h.call('modelslab_api_keys', { action: 'delete', id }));
    expect(text).toBe(
      `Deleted ModelsLab API key #${id}.\nIt was the key atelier-mcp generates with: create another (action create) before generating.`,
    );
    const missing = await h.call('modelslab_api_keys', { action: 'delete', id });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(
      /not_found \(HTTP 404[\s\S]*Next: Check the id: modelslab_api_keys lists/,
    );
  });

  it('create without a name and delete without an id are input errors that send nothing', async () => {
    h = await startHarness();
    const sent = h.modelslab.requests.length;
    expect(textOf(await h.call('modelslab_api_keys', { action: 'create' }))).toMatch(
      /^Invalid input: create needs a name\./,
    );
    expect(textOf(await h.call('modelslab_api_keys', { action: 'delete' }))).toMatch(
      /^Invalid input: delete needs the id/,
    );
    expect(h.modelslab.requests.length).toBe(sent);
  });
});

describe('modelslab_api_keys update (admin toolset)', () => {
  it('describes a key from an answer that leaves the key out, instead of failing on it', async () => {
    h = await startHarness({ config: { toolsets: ['account', 'admin'] } });
    const id = h.modelslab.accounts.byEmail(SANDBOX_MODELSLAB_EMAIL)!.apiKeys[0]!.id;
    h.modelslab.inject({
      method: 'PUT',
      path: `/api/agents/v1/api-keys/${id}`,
      rewrite: (body) => {
        const data = { ...(body.data as Record<string, unknown>) };
        delete data.key;
        return { ...body, data };
      },
    });
    const result = await h.call('modelslab_api_keys', { action: 'update', id, name: 'renamed' });
    expect(result.isError, textOf(result)).toBeFalsy();
    expect(textOf(result)).toMatch(new RegExp(`^Updated ModelsLab API key #${id} "renamed", created `));
  });
});
