import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { earlyAnswers } from '../mcp/early-answers.js';
import type { ServerParts, ServerSetup } from '../mcp/server.js';
import { StdioTransport } from '../mcp/stdio-transport.js';
import { builtToolTable, prebuiltToolList } from '../mcp/tool-list.js';
import { selectTools } from '../tool-selection.js';

// The MCP server command. Imported statically by the bin, unlike the other commands: what it imports at the top
// must stay small, and the MCP SDK loads only after the client's `initialize` is answered
// (test/e2e/startup.test.ts checks).

const loadTools = async () => (await import('../../tools/index.js')).TOOLS;

export async function serve(config: Config, log: Logger): Promise<void> {
  // The bin knows its tools from the build; a source run loads them.
  const table = builtToolTable();
  const tools = table?.tools ?? (await loadTools());
  const selected = selectTools(tools, config); // fails fast, before the sandbox starts, when no tool is left
  // stdin is read from here on: the bin answers `initialize` and `tools/list` from the build's table while the
  // SDK loads.
  const transport = new StdioTransport();
  await transport.listen(table && earlyAnswers(table.initialize, prebuiltToolList(selected, config, table)));
  let setup: ServerSetup;
  let stopSandbox = async () => {};
  if (config.sandbox) {
    const sandboxed = await sandboxSetup(config, log);
    stopSandbox = sandboxed.stop;
    setup = { config: sandboxed.config, log, tools, table, load: sandboxed.load };
  } else {
    setup = {
      config,
      log,
      tools,
      table,
      load: async () => {
        const [loaded, { createServices }] = await Promise.all([loadTools(), import('../services.js')]);
        return { tools: loaded, services: createServices(config, log) };
      },
    };
  }
  const { createServer, serveStdio } = await import('../mcp/server.js');
  await serveStdio(createServer(setup), transport, log, async () => {
    await stopSandbox();
    process.exit(0);
  });
  log.info(
    `ready (${config.sandbox ? 'sandbox' : 'live'} mode): images are saved in ` +
      (config.outputDir ?? `generated/ under the client's first root, else under ${config.cwd}`),
  );
}

/** --sandbox: the emulators on loopback, and services pointed at them (loaded only here, with sharp). */
async function sandboxSetup(
  config: Config,
  log: Logger,
): Promise<{ config: Config; stop: () => Promise<void>; load: () => Promise<ServerParts> }> {
  const [{ startSandbox, SANDBOX_CREDENTIALS }, { createServices }, { spendDir }, { rm }] = await Promise.all(
    [
      import('../sandbox/index.js'),
      import('../services.js'),
      import('../spend/home.js'),
      import('node:fs/promises'),
    ],
  );
  const sandbox = await startSandbox();
  log.info(
    `sandbox: Pixelmuse emulator on ${sandbox.urls.pixelmuse}, ModelsLab emulator on ${sandbox.urls.modelslab}; ` +
      'no real key or network is used',
  );
  const sandboxed = {
    ...config,
    pixelmuseBaseUrl: sandbox.urls.pixelmuse,
    modelslabBaseUrl: sandbox.urls.modelslab,
    stripeApiBase: sandbox.urls.stripe,
  };
  return {
    config: sandboxed,
    async stop() {
      await sandbox.close();
      // The sandbox's ledger and keys describe emulators that are gone now.
      await rm(spendDir(sandboxed), { recursive: true, force: true });
    },
    load: async () => ({
      tools: await loadTools(),
      services: createServices(sandboxed, log, SANDBOX_CREDENTIALS),
    }),
  };
}
