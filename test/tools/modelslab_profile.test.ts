import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

describe('modelslab_profile', () => {
  it('shows the profile, the wallet and the preferences', async () => {
    h = await startHarness({ modelslab: { walletUsd: 12.5 } });
    const text = textOf(await h.call('modelslab_profile'));
    expect(text).toMatch(
      /^ModelsLab profile: Sandbox <sandbox@atelier\.test>, username sandbox\d+\n- email verified: yes\n/,
    );
    expect(text).toContain('- wallet: $12.50');
    expect(text).toContain('- preferences: nsfw_content false, wallet_notification_enabled false');
  });

  it('reports an unreachable ModelsLab with the env var to check', async () => {
    h = await startHarness({ config: { modelslabBaseUrl: 'http://127.0.0.1:9' } });
    const result = await h.call('modelslab_profile');
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /Could not reach ModelsLab at http:\/\/127\.0\.0\.1:9[\s\S]*MODELSLAB_BASE_URL/,
    );
  });
});
