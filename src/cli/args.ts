import { parseArgs } from 'node:util';
import type { Flags } from '../config.js';
import { UserInputError } from '../errors.js';

export type Command = 'serve' | 'tools' | 'prompts' | 'status' | 'login' | 'logout';

export interface ParsedCommand {
  command: Command | 'help' | 'version';
  /** help: the command it is about (`login --help`, `help login`); none for the whole bin. */
  topic?: Command;
  provider?: string;
  /** login modelslab --api-key: store a key, skip the account flow. */
  apiKey?: boolean;
  /** login modelslab --token-expiry. */
  tokenExpiry?: string;
  flags: Flags;
}

const LOGIN_PROVIDERS = new Set(['pixelmuse', 'modelslab']);

const COMMANDS = new Set<string>(['serve', 'tools', 'prompts', 'status', 'login', 'logout']);

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
        'api-key': { type: 'boolean' },
        'token-expiry': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UserInputError(parseProblem(error as Error & { code?: string }), {
      next: 'Run `atelier-mcp --help` (or `atelier-mcp <command> --help`) for the flags.',
    });
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
  if (values.help || first === 'help') {
    const topic = first === 'help' ? second : first;
    if (topic !== undefined) knownCommand(topic);
    return { command: 'help', ...(topic !== undefined ? { topic: topic as Command } : {}), flags };
  }
  if (first !== undefined) knownCommand(first);
  const command = (first ?? 'serve') as Command;
  if (command === 'login' || command === 'logout') {
    if (second === undefined || !LOGIN_PROVIDERS.has(second) || rest.length > 0) {
      throw new UserInputError(`Usage: atelier-mcp ${command} pixelmuse|modelslab`, {
        next: `Name the provider: atelier-mcp ${command} pixelmuse, or atelier-mcp ${command} modelslab.`,
      });
    }
    const modelslabLogin = command === 'login' && second === 'modelslab';
    if ((values['api-key'] || values['token-expiry'] !== undefined) && !modelslabLogin) {
      throw new UserInputError('--api-key and --token-expiry belong to `atelier-mcp login modelslab`.');
    }
    if (values['api-key'] && values['token-expiry'] !== undefined) {
      throw new UserInputError('--token-expiry applies to an account login, not to --api-key.');
    }
    return {
      command,
      provider: second,
      ...(values['api-key'] ? { apiKey: true } : {}),
      ...(values['token-expiry'] !== undefined ? { tokenExpiry: values['token-expiry'] } : {}),
      flags,
    };
  }
  if (values['api-key'] || values['token-expiry'] !== undefined) {
    throw new UserInputError('--api-key and --token-expiry belong to `atelier-mcp login modelslab`.');
  }
  if (second !== undefined) throw new UserInputError(`Unexpected argument "${second}".`);
  return { command, flags };
}

function knownCommand(name: string): void {
  if (COMMANDS.has(name)) return;
  throw new UserInputError(`Unknown command "${name}".`, {
    next: 'Run `atelier-mcp --help` for the commands.',
  });
}

/** node:util's own words, except where they are hard to read (an unknown option's advice has an unbalanced quote). */
function parseProblem(error: Error & { code?: string }): string {
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(error.message)?.[1];
    if (option) return `Unknown option ${option}.`;
  }
  return error.message;
}
