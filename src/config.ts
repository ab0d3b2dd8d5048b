import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { storedProviders } from './stored-providers.js';
import { UserInputError } from './errors.js';

export const TOOLSETS = ['generate', 'account', 'onboarding', 'billing', 'images', 'train', 'admin'] as const;
export type Toolset = (typeof TOOLSETS)[number];
/** Toolsets that stay off unless named (`--toolsets all,admin`): the default tools/list does not pay for them. */
const OPT_IN_TOOLSETS: readonly Toolset[] = ['admin'];
export const PROVIDERS = ['pixelmuse', 'modelslab'] as const;
export type Provider = (typeof PROVIDERS)[number];
export const CREDENTIAL_STORES = ['auto', 'keychain', 'file', 'memory'] as const;
export type CredentialStoreKind = (typeof CREDENTIAL_STORES)[number];
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Config {
  sandbox: boolean;
  toolsets: Toolset[];
  readOnly: boolean;
  providers: Provider[];
  /** generate_image's provider when the call names none and both are configured. */
  defaultProvider: Provider;
  /** Absolute output root when the user fixed one; otherwise chosen from the client's roots at call time. */
  outputDir: string | undefined;
  pixelmuseBaseUrl: string;
  modelslabBaseUrl: string;
  stripeApiBase: string;
  home: string;
  credentialStore: CredentialStoreKind;
  maxUsdPerCall: number;
  maxUsdPerDay: number;
  autoApproveUsd: number;
  logLevel: LogLevel;
  /** Where relative paths and the last-resort output root are resolved. */
  cwd: string;
  /** Used when neither a client root nor the cwd is writable. */
  dataDir: string;
}

const DEFAULT_MAX_USD_PER_CALL = 50;

/** One row per setting: the flag (if any), its env twin, and how it is documented in --help. */
export interface Setting {
  flag?: string;
  env: string;
  help: string;
  default: string;
}

export const SETTINGS: Setting[] = [
  {
    flag: '--sandbox',
    env: 'ATELIER_SANDBOX',
    help: 'Run against the built-in emulators (no key, no network).',
    default: 'off',
  },
  {
    flag: '--toolsets <list>',
    env: 'ATELIER_TOOLSETS',
    help: `Comma list of toolsets to expose: ${TOOLSETS.join(', ')}; all = every one but ${OPT_IN_TOOLSETS.join(', ')}.`,
    default: 'all but admin (train only with MODELSLAB_API_KEY / MODELSLAB_TOKEN or --sandbox)',
  },
  {
    flag: '--read-only',
    env: 'ATELIER_READ_ONLY',
    help: 'Expose only tools that change nothing (readOnlyHint).',
    default: 'off',
  },
  {
    flag: '--providers <list>',
    env: 'ATELIER_PROVIDERS',
    help: `Comma list of providers whose tools are exposed: ${PROVIDERS.join(', ')}.`,
    default: 'all',
  },
  {
    env: 'ATELIER_DEFAULT_PROVIDER',
    help: `Provider generate_image uses when the call names none and both have credentials: ${PROVIDERS.join(', ')}.`,
    default: 'pixelmuse',
  },
  {
    flag: '--output-dir <dir>',
    env: 'ATELIER_OUTPUT_DIR',
    help: 'Where images are saved (outputs never leave it).',
    default: "generated/ under the client's first root, else the cwd",
  },
  {
    env: 'PIXELMUSE_API_KEY',
    help: 'Pixelmuse API key (pm_live_… / pm_test_…); overrides the credential store.',
    default: 'credential store',
  },
  {
    env: 'MODELSLAB_API_KEY',
    help: 'ModelsLab API key; overrides the credential store.',
    default: 'credential store',
  },
  {
    env: 'MODELSLAB_TOKEN',
    help: 'ModelsLab Agents API bearer token; overrides the credential store.',
    default: 'credential store',
  },
  {
    env: 'PIXELMUSE_BASE_URL',
    help: 'Origin for the Pixelmuse /api/v1 API.',
    default: 'https://www.pixelmuse.studio',
  },
  { env: 'MODELSLAB_BASE_URL', help: 'Origin for the ModelsLab APIs.', default: 'https://modelslab.com' },
  { env: 'STRIPE_API_BASE', help: 'Stripe API origin.', default: 'https://api.stripe.com' },
  {
    env: 'ATELIER_HOME',
    help: 'Config dir: settings, ledger, file credential store, prompts/ (user templates).',
    default: '$XDG_CONFIG_HOME/atelier-mcp',
  },
  {
    env: 'ATELIER_CREDENTIAL_STORE',
    help: `Credential store: ${CREDENTIAL_STORES.join(', ')} (auto = OS keychain, else a 0600 file).`,
    default: 'auto',
  },
  {
    env: 'ATELIER_MAX_USD_PER_CALL',
    help: 'Hard cap on one charge, in USD.',
    default: `${DEFAULT_MAX_USD_PER_CALL}, or the day cap if lower`,
  },
  { env: 'ATELIER_MAX_USD_PER_DAY', help: 'Hard cap on charges per day, in USD.', default: '100' },
  { env: 'ATELIER_AUTO_APPROVE_USD', help: 'Charges at or under this need no confirmation.', default: '0' },
  { env: 'ATELIER_LOG_LEVEL', help: `stderr log level: ${LOG_LEVELS.join(', ')}.`, default: 'info' },
];

export interface Flags {
  sandbox?: boolean;
  toolsets?: string;
  readOnly?: boolean;
  providers?: string;
  outputDir?: string;
}

type Env = Record<string, string | undefined>;

function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

function list<T extends string>(raw: string | undefined, allowed: readonly T[], name: string): T[] {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'all') return [...allowed];
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = items.filter((s) => !(allowed as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new UserInputError(`Unknown ${name}: ${unknown.join(', ')}.`, {
      next: `Use any of: ${allowed.join(', ')}.`,
    });
  }
  return [...new Set(items)] as T[];
}

/** `all` (or nothing) is every toolset but the opt-in ones, which are on only when named: `all,admin`. */
function toolsetList(raw: string | undefined): Toolset[] {
  const items = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const named = items.filter((s) => s !== 'all');
  const chosen = named.length > 0 ? list(named.join(','), TOOLSETS, 'toolset') : [];
  if (items.length > 0 && named.length === items.length) return chosen;
  return [...new Set([...TOOLSETS.filter((t) => !OPT_IN_TOOLSETS.includes(t)), ...chosen])];
}

function oneOf<T extends string>(
  raw: string | undefined,
  allowed: readonly T[],
  fallback: T,
  name: string,
): T {
  if (raw === undefined || raw === '') return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new UserInputError(`${name}=${raw} is not valid.`, { next: `Use one of: ${allowed.join(', ')}.` });
}

function usd(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new UserInputError(`${name}=${raw} is not a non-negative number of USD.`);
  return n;
}

/**
 * An http(s) origin, nothing more: `localhost:8080` (parsed as a "localhost:" scheme), `ftp://…`, a path, a
 * query or credentials are refused at start instead of becoming "null" or being silently dropped.
 */
function origin(raw: string | undefined, fallback: string, name: string): string {
  const value = raw && raw.trim() !== '' ? raw.trim() : fallback;
  const refuse = (why: string) =>
    new UserInputError(`${name}=${value} is not usable: ${why}.`, {
      next: `Set ${name} to an http(s) origin such as ${fallback} (scheme, host and optional port only), or unset it.`,
    });
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse('it is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw refuse(
      `the scheme must be http or https, not ${url.protocol.replace(/:$/, '')} (write http://host:port)`,
    );
  }
  if (url.username || url.password) throw refuse('credentials do not belong in the URL');
  if (url.pathname !== '/' || url.search || url.hash) {
    throw refuse('it must not have a path, query or fragment (the API paths are added to the origin)');
  }
  return url.origin;
}

/** Toolsets that are on by default only in some setups: `train` when ModelsLab is configured. */
function withDefaultsOff(
  toolsets: Toolset[],
  setup: { named: boolean; modelslab: () => boolean },
): Toolset[] {
  return setup.named || setup.modelslab() ? toolsets : toolsets.filter((t) => t !== 'train');
}

/** Flags win over env; env wins over defaults. */
export function loadConfig(flags: Flags = {}, env: Env = process.env, cwd = process.cwd()): Config {
  const xdgConfig = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  const xdgData = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  const sandbox = flags.sandbox ?? truthy(env.ATELIER_SANDBOX);
  const home = resolve(cwd, env.ATELIER_HOME || join(xdgConfig, 'atelier-mcp'));
  const outputDir = flags.outputDir ?? env.ATELIER_OUTPUT_DIR;
  const maxUsdPerDay = usd(env.ATELIER_MAX_USD_PER_DAY, 100, 'ATELIER_MAX_USD_PER_DAY');
  // The default per-call cap is never above the day cap: ATELIER_MAX_USD_PER_DAY=20 alone means at most $20 a
  // call too (no call could spend more that day anyway), not a server that refuses to start.
  const maxUsdPerCall = usd(
    env.ATELIER_MAX_USD_PER_CALL,
    Math.min(DEFAULT_MAX_USD_PER_CALL, maxUsdPerDay),
    'ATELIER_MAX_USD_PER_CALL',
  );
  if (maxUsdPerCall > maxUsdPerDay) {
    // Both were set: not a typo to be smoothed over, the user believes one call may spend more than a whole day may.
    throw new UserInputError(
      `ATELIER_MAX_USD_PER_CALL (${maxUsdPerCall}) is above ATELIER_MAX_USD_PER_DAY (${maxUsdPerDay}).`,
      { next: 'Set ATELIER_MAX_USD_PER_CALL at or below ATELIER_MAX_USD_PER_DAY.' },
    );
  }
  return {
    sandbox,
    toolsets: withDefaultsOff(toolsetList(flags.toolsets ?? env.ATELIER_TOOLSETS), {
      named: (flags.toolsets ?? env.ATELIER_TOOLSETS ?? '').trim() !== '',
      // Read at start, before any credential store opens: the env, the sandbox (whose key is ModelsLab's), or the
      // note that a ModelsLab credential was stored under this home (src/stored-providers.ts).
      modelslab: () =>
        sandbox ||
        Boolean(env.MODELSLAB_API_KEY || env.MODELSLAB_TOKEN) ||
        storedProviders(home).has('modelslab'),
    }),
    readOnly: flags.readOnly ?? truthy(env.ATELIER_READ_ONLY),
    providers: list(flags.providers ?? env.ATELIER_PROVIDERS, PROVIDERS, 'provider'),
    defaultProvider: oneOf(env.ATELIER_DEFAULT_PROVIDER, PROVIDERS, 'pixelmuse', 'ATELIER_DEFAULT_PROVIDER'),
    outputDir: outputDir ? resolve(cwd, outputDir) : undefined,
    pixelmuseBaseUrl: origin(env.PIXELMUSE_BASE_URL, 'https://www.pixelmuse.studio', 'PIXELMUSE_BASE_URL'),
    modelslabBaseUrl: origin(env.MODELSLAB_BASE_URL, 'https://modelslab.com', 'MODELSLAB_BASE_URL'),
    stripeApiBase: origin(env.STRIPE_API_BASE, 'https://api.stripe.com', 'STRIPE_API_BASE'),
    home,
    // The sandbox never touches the user's real keychain or files.
    credentialStore: sandbox
      ? 'memory'
      : oneOf(env.ATELIER_CREDENTIAL_STORE, CREDENTIAL_STORES, 'auto', 'ATELIER_CREDENTIAL_STORE'),
    maxUsdPerCall,
    maxUsdPerDay,
    autoApproveUsd: usd(env.ATELIER_AUTO_APPROVE_USD, 0, 'ATELIER_AUTO_APPROVE_USD'),
    logLevel: oneOf(env.ATELIER_LOG_LEVEL, LOG_LEVELS, 'info', 'ATELIER_LOG_LEVEL'),
    cwd,
    dataDir: join(xdgData, 'atelier-mcp'),
  };
}
