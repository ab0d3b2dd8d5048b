import { CardRegistry } from '../stripe/cards.js';
import { SANDBOX_STRIPE_PUBLISHABLE_KEY } from '../stripe/index.js';
import { newAdminState, type AdminState } from './admin-state.js';
import { agentsRoutes } from './agents.js';
import { autoFundingRoutes } from './auto-funding.js';
import { billingProfileRoutes } from './billing-profile.js';
import { couponRoutes } from './coupons.js';
import { invoiceRoutes } from './invoices.js';
import { passwordRoutes } from './passwords.js';
import { profileRoutes } from './profile.js';
import { teamRoutes } from './teams.js';
import { authenticate, billingRoutes, failAuthentication, newBillingState } from './billing.js';
import { generationRoutes, type GenerationOptions } from './generation.js';
import { trainingRoutes, trainingState, type TrainingOptions } from './training.js';
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
  /** The Stripe whose cards the billing routes charge (default: one with only Stripe's test pm_card_* ids). */
  stripe?: { cards: CardRegistry; publishableKey: string };
  /** Answer /billing/stripe-config inside the envelope (the docs show it bare; both occur). */
  envelopeStripeConfig?: boolean;
  /** Start with the sandbox account (default true). */
  seed?: boolean;
  /** Its wallet balance in USD; default 25. */
  walletUsd?: number;
  /** How the v6/v7 generation jobs behave. */
  generation?: GenerationOptions;
  /** How fast LoRA trainings go through their statuses. */
  training?: TrainingOptions;
}

export interface ModelslabEmulator extends ModelslabServer {
  /** Teams, billing profile, auto-funding, coupons and password resets, as ModelsLab holds them. */
  admin: AdminState;
  billing: {
    /** The human completed 3-D Secure for this PaymentIntent; false if it was not waiting for it. */
    authenticate(paymentIntentId: string): boolean;
    /** The next mutation on this path is carried out but never answered (a lost answer). */
    hold(path: string): void;
    /** The human abandoned (or the bank refused) 3-D Secure: the PaymentIntent fails, nothing is charged. */
    failAuthentication(paymentIntentId: string): boolean;
    /** Every PaymentIntent so far, as the ground truth of what was charged. */
    intents(): Array<{ id: string; amount: number; status: string }>;
  };
}

export async function startModelslabEmulator(
  opts: ModelslabEmulatorOptions = {},
): Promise<ModelslabEmulator> {
  const billing = newBillingState();
  const admin = newAdminState();
  const stripe = opts.stripe ?? { cards: new CardRegistry(), publishableKey: SANDBOX_STRIPE_PUBLISHABLE_KEY };
  const training = trainingState(opts.training, opts.now);
  const server = await startModelslabServer(
    [
      ...MODULES,
      generationRoutes(opts.generation, training.trainings),
      trainingRoutes(training),
      billingRoutes({ ...stripe, envelopeStripeConfig: opts.envelopeStripeConfig }, billing),
      profileRoutes,
      passwordRoutes(admin),
      teamRoutes(admin),
      invoiceRoutes(admin),
      billingProfileRoutes(admin, billing),
      autoFundingRoutes(admin, billing),
      couponRoutes(admin, billing),
    ],
    opts,
  );
  const emulator: ModelslabEmulator = {
    ...server,
    admin,
    billing: {
      authenticate: (pi) => authenticate(billing, pi),
      hold: (path) => void billing.holds.add(path),
      failAuthentication: (pi) => failAuthentication(billing, pi),
      intents: () => [...billing.intents.values()].map(({ id, amount, status }) => ({ id, amount, status })),
    },
  };
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
