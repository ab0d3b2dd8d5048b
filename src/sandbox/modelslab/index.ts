import { agentsRoutes } from './agents.js';
import { generationRoutes, type GenerationOptions } from './generation.js';
import {
  startModelslabServer,
  type ModelslabServer,
  type ModelslabServerOptions,
  type RouteModule,
} from './server.js';

export type { ModelslabEnv, ModelslabExchange, ModelslabRoute, RouteModule } from './server.js';
export { ok, validationError, AGENTS_PREFIX, LIMITERS } from './server.js';
export type { Accounts, MlUser, MlToken, MlApiKey, TokenExpiry } from './accounts.js';

/**
 * Every route module of the ModelsLab origin. Add yours here (generation under /api/v6..v8, billing,
 * wallet and subscriptions under /api/agents/v1): each gets the same account state.
 */
const MODULES: RouteModule[] = [agentsRoutes];

/** The account `--sandbox` and the tests start with: verified, with a key, a token and $25 in the wallet. */
export const SANDBOX_MODELSLAB_EMAIL = 'sandbox@atelier.test';
export const SANDBOX_MODELSLAB_KEY = 'SbxModelsLabKey7f3a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9';
export const SANDBOX_MODELSLAB_TOKEN = '1|SbxAgentToken5e8c1a9f3d7b2e6c0a4f8d1b5e9c3a7f2d6b';

export interface ModelslabEmulatorOptions extends ModelslabServerOptions {
  /** Start with the sandbox account (default true). */
  seed?: boolean;
  /** Its wallet balance in USD; default 25. */
  walletUsd?: number;
  /** How the v6/v7 generation jobs behave. */
  generation?: GenerationOptions;
}

export type ModelslabEmulator = ModelslabServer;

export async function startModelslabEmulator(
  opts: ModelslabEmulatorOptions = {},
): Promise<ModelslabEmulator> {
  const emulator = await startModelslabServer([...MODULES, generationRoutes(opts.generation)], opts);
  if (opts.seed ?? true) {
    const { accounts } = emulator;
    const user = accounts.createUser({
      email: SANDBOX_MODELSLAB_EMAIL,
      password: 'sandbox-password',
      name: 'Sandbox',
      verified: true,
    });
    user.apiKeys[0]!.key = SANDBOX_MODELSLAB_KEY;
    accounts.issueToken(user, '1_month', 'sandbox', SANDBOX_MODELSLAB_TOKEN);
    if ((opts.walletUsd ?? 25) > 0) accounts.credit(user, opts.walletUsd ?? 25, 'sandbox_seed');
  }
  return emulator;
}
