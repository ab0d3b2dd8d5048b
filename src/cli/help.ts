import { SETTINGS, type Setting } from '../config.js';
import { VERSION } from '../version.js';
import type { Command } from './args.js';

const USAGE = [
  '  atelier-mcp [serve] [flags]      serve MCP over stdio (what Claude Code and Cursor run)',
  '  atelier-mcp tools [flags]        list the tools the flags expose, with approximate schema tokens',
  '  atelier-mcp prompts              list built-in and user prompts (ATELIER_HOME/prompts/*.yaml); exit 1 if a file is skipped',
  '  atelier-mcp status               show each provider: configured or not, credential source (masked)',
  '  atelier-mcp login pixelmuse      store a Pixelmuse API key (prompted without echo, or read from stdin)',
  '  atelier-mcp logout pixelmuse     remove the stored Pixelmuse key',
  '  atelier-mcp login modelslab      log in with email and password (prompted, the password without echo; or',
  '                                   two lines on stdin) and store the token, its expiry and the API key;',
  '                                   --token-expiry 1_week|1_month|3_months|never',
  '  atelier-mcp login modelslab --api-key   store a ModelsLab API key (without echo, or from stdin)',
  '  atelier-mcp logout modelslab     revoke the stored ModelsLab token and remove what is stored (token, key)',
  '  atelier-mcp <command> --help     that command alone',
  '  atelier-mcp --help | --version',
];

/** What each command's --help says: how to call it, what it does, and the settings it reads. */
const COMMANDS: Record<
  Exclude<Command, 'serve'>,
  { usage: string[]; about: string[]; settings: string[] }
> = {
  tools: {
    usage: ['atelier-mcp tools [--toolsets <list>] [--providers <list>] [--read-only]'],
    about: [
      'Lists the tools a server started with the same flags offers: name, toolset, read-only or not, and about how',
      'many tokens each costs in tools/list (JSON length / 4), then the total. Needs no key and no network.',
    ],
    settings: ['ATELIER_TOOLSETS', 'ATELIER_PROVIDERS', 'ATELIER_READ_ONLY', 'ATELIER_DEFAULT_PROVIDER'],
  },
  prompts: {
    usage: ['atelier-mcp prompts'],
    about: [
      'Lists the built-in prompts and your templates in ATELIER_HOME/prompts/ (*.yaml, *.yml) with their arguments',
      'and source; names every file it skipped with the reason and then exits 1.',
    ],
    settings: ['ATELIER_HOME'],
  },
  status: {
    usage: ['atelier-mcp status [--sandbox]'],
    about: [
      'Shows each provider: configured or not, where its credential comes from (masked) and which API it calls;',
      'then the credential store (and why the OS keychain is not used, if it is not) and the output folder.',
      'With --sandbox: what a sandboxed server holds (test keys in memory, nothing stored).',
    ],
    settings: [
      'PIXELMUSE_API_KEY',
      'MODELSLAB_API_KEY',
      'MODELSLAB_TOKEN',
      'ATELIER_CREDENTIAL_STORE',
      'ATELIER_HOME',
      'ATELIER_SANDBOX',
    ],
  },
  login: {
    usage: [
      'atelier-mcp login pixelmuse',
      'atelier-mcp login modelslab [--token-expiry 1_week|1_month|3_months|never]',
      'atelier-mcp login modelslab --api-key',
    ],
    about: [
      'pixelmuse: reads an API key (typed without echo, or piped on stdin), checks it with Pixelmuse and stores it',
      'only if Pixelmuse accepts it: echo "$KEY" | atelier-mcp login pixelmuse.',
      'modelslab: reads the email, then the password (without echo; or two lines on stdin), logs in and stores the',
      'access token, its expiry and the default API key. --api-key stores a key you already have instead.',
      'Stored in the OS keychain, else in ATELIER_HOME/credentials.json (mode 0600). Not with --sandbox: the',
      'sandbox has test keys of its own and stores nothing.',
    ],
    settings: ['ATELIER_CREDENTIAL_STORE', 'ATELIER_HOME', 'PIXELMUSE_BASE_URL', 'MODELSLAB_BASE_URL'],
  },
  logout: {
    usage: ['atelier-mcp logout pixelmuse', 'atelier-mcp logout modelslab'],
    about: [
      'pixelmuse: removes the stored key. modelslab: revokes the stored access token at ModelsLab, then removes',
      'what is stored (token, its expiry, API key). A key in the environment stays: unset it too.',
    ],
    settings: ['ATELIER_CREDENTIAL_STORE', 'ATELIER_HOME', 'MODELSLAB_BASE_URL'],
  },
};

function settingLines(settings: Setting[]): string[] {
  const width = Math.max(...settings.map((s) => (s.flag ?? '').length));
  return settings.map(
    (s) => `  ${(s.flag ?? '').padEnd(width)}  ${s.env.padEnd(26)} ${s.help} (default: ${s.default})`,
  );
}

/** The whole bin's help, or one command's (`atelier-mcp login --help`). */
export function helpText(topic?: Command): string {
  if (topic !== undefined && topic !== 'serve') {
    const { usage, about, settings } = COMMANDS[topic];
    return [
      `Usage: ${usage[0]}`,
      ...usage.slice(1).map((u) => `       ${u}`),
      '',
      ...about,
      '',
      'Settings it reads (flag or env; a flag wins over its env var):',
      ...settingLines(SETTINGS.filter((s) => settings.includes(s.env))),
      '',
      'All commands: atelier-mcp --help',
    ].join('\n');
  }
  return [
    `atelier-mcp ${VERSION}: an MCP stdio server that generates images on Pixelmuse and ModelsLab.`,
    '',
    'Usage:',
    ...USAGE,
    '',
    'Flags and settings (each flag has an env twin; a flag wins over its env var):',
    ...settingLines(SETTINGS),
    '',
    'Claude Code: claude mcp add atelier -- npx -y atelier-mcp',
    '  from a clone (after npm ci and npm run build): claude mcp add atelier -- node /path/to/atelier-mcp/dist/cli.js',
    'Try it without a key: npx -y atelier-mcp --sandbox',
  ].join('\n');
}
