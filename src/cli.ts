import { parseCommand } from './cli/args.js';
import { serve } from './cli/serve.js';
import { loadConfig } from './config.js';
import { formatError } from './error-format.js';
import { UserInputError } from './errors.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';

// Only the non-serve commands print to stdout: in serve mode stdout is the JSON-RPC channel.
const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** `atelier-mcp tools | head` closes the pipe early: stop quietly, as other CLIs do, rather than crash. */
function quietOnClosedPipe(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
}

async function main(argv: string[]): Promise<void> {
  const parsed = parseCommand(argv);
  if (parsed.command === 'version') return print(VERSION);
  if (parsed.command === 'help') return print((await import('./cli/help.js')).helpText(parsed.topic));
  const config = loadConfig(parsed.flags);
  if (config.sandbox && (parsed.command === 'login' || parsed.command === 'logout')) {
    // The sandbox's keys live in the server's memory: a login here would reach the real service instead.
    throw new UserInputError(
      `atelier-mcp ${parsed.command} does nothing in the sandbox: a sandboxed server starts with test keys in memory ` +
        'and stores nothing.',
      {
        next:
          'Run the server with --sandbox to try it (`atelier-mcp status --sandbox` shows what it holds), or drop ' +
          `--sandbox (and ATELIER_SANDBOX) to ${parsed.command === 'login' ? 'store a real key' : 'remove a stored key'}.`,
      },
    );
  }
  const log = createLogger(config.logLevel);
  if (parsed.command === 'serve') return serve(config, log);
  quietOnClosedPipe();
  // The other commands load only when used: the bin starts as a server far more often.
  const [{ login, logout, prompts, status, tools }, { loginModelslab, logoutModelslab }] = await Promise.all([
    import('./cli/commands.js'),
    import('./cli/modelslab.js'),
  ]);
  switch (parsed.command) {
    case 'tools':
      return tools(config, log, print);
    case 'prompts':
      // Listing doubles as a check of the user's templates: a skipped file fails the command.
      if (!(await prompts(config, print))) process.exitCode = 1;
      return;
    case 'status':
      return status(config, log, print);
    case 'login':
      if (parsed.provider === 'modelslab') {
        return loginModelslab(config, log, print, { apiKey: parsed.apiKey, tokenExpiry: parsed.tokenExpiry });
      }
      return login(config, log, print);
    case 'logout':
      return parsed.provider === 'modelslab'
        ? logoutModelslab(config, log, print)
        : logout(config, log, print);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${formatError(error)}\n`);
  process.exitCode = error instanceof UserInputError ? 2 : 1;
});
