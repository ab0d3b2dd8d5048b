import { SETTINGS } from '../config.js';
import { VERSION } from '../version.js';

export function helpText(): string {
  const width = Math.max(...SETTINGS.map((s) => (s.flag ?? '').length));
  const settings = SETTINGS.map(
    (s) => `  ${(s.flag ?? '').padEnd(width)}  ${s.env.padEnd(26)} ${s.help} (default: ${s.default})`,
  );
  return [
    `atelier-mcp ${VERSION}: an MCP stdio server that generates images on Pixelmuse and ModelsLab.`,
    '',
    'Usage:',
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
    '  atelier-mcp logout modelslab     revoke the stored ModelsLab token and remove token and key',
    '  atelier-mcp --help | --version',
    '',
    'Flags and settings (each flag has an env twin; a flag wins over its env var):',
    ...settings,
    '',
    'Claude Code: claude mcp add atelier -- npx -y atelier-mcp',
    'Try it without a key: npx -y atelier-mcp --sandbox',
  ].join('\n');
}
