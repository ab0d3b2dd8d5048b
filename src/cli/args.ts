import { parseArgs } from 'node:util';
import type { Flags } from '../config.js';
import { UserInputError } from '../errors.js';

export interface ParsedCommand {
  command: 'serve' | 'tools' | 'prompts' | 'status' | 'login' | 'logout' | 'help' | 'version';
  provider?: string;
  flags: Flags;
}

const COMMANDS = new Set(['serve', 'tools', 'prompts', 'status', 'login', 'logout', 'help']);

export function parseCommand(argv: string[]): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        sandbox: { type: 'boolean' },
        toolsets: { type: 'string' },
        'read-only': { type: 'boolean' },
        providers: { type: 'string' },
        'output-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UserInputError((error as Error).message, { next: 'Run `atelier-mcp --help` for the flags.' });
  }
  const { values, positionals } = parsed;
  const flags: Flags = {
    ...(values.sandbox !== undefined ? { sandbox: values.sandbox } : {}),
    ...(values.toolsets !== undefined ? { toolsets: values.toolsets } : {}),
    ...(values['read-only'] !== undefined ? { readOnly: values['read-only'] } : {}),
    ...(values.providers !== undefined ? { providers: values.providers } : {}),
    ...(values['output-dir'] !== undefined ? { outputDir: values['output-dir'] } : {}),
  };
  if (values.version) return { command: 'version', flags };
  const [first, second, ...rest] = positionals;
  if (values.help || first === 'help') return { command: 'help', flags };
  if (first !== undefined && !COMMANDS.has(first)) {
    throw new UserInputError(`Unknown command "${first}".`, {
      next: 'Run `atelier-mcp --help` for the commands.',
    });
  }
  const command = (first ?? 'serve') as ParsedCommand['command'];
  if (command === 'login' || command === 'logout') {
    if (second !== 'pixelmuse' || rest.length > 0) {
      throw new UserInputError(`Usage: atelier-mcp ${command} pixelmuse`, {
        next: 'Pixelmuse is the provider whose key can be stored today.',
      });
    }
    return { command, provider: second, flags };
  }
  if (second !== undefined) throw new UserInputError(`Unexpected argument "${second}".`);
  return { command, flags };
}
