import type { ToolSummary } from '../tools/define.js';
import type { Config } from './config.js';
import { UserInputError } from './errors.js';

/**
 * The admin toolset also adds actions to two tools of other toolsets (an update to modelslab_profile, which only
 * reads otherwise): not under --read-only, which keeps those tools as they read.
 */
export function adminActionsOn(config: Pick<Config, 'toolsets' | 'readOnly'>): boolean {
  return config.toolsets.includes('admin') && !config.readOnly;
}

/** Toolsets, --read-only (derived from readOnlyHint, never a second list) and --providers. */
export function selectTools<T extends ToolSummary>(
  tools: readonly T[],
  config: Pick<Config, 'toolsets' | 'readOnly' | 'providers'>,
): T[] {
  const selected = tools.filter(
    (t) =>
      config.toolsets.includes(t.toolset) &&
      (!config.readOnly || t.annotations.readOnlyHint) &&
      t.providers.some((p) => config.providers.includes(p)),
  );
  // A server with no tools looks connected but can do nothing: better to refuse to start and say why.
  if (selected.length === 0) {
    throw new UserInputError(
      `No tool matches toolsets ${config.toolsets.join(',')}, providers ${config.providers.join(',')}` +
        `${config.readOnly ? ' and --read-only' : ''}.`,
      {
        next: 'Widen --toolsets / --providers (every tool today works with pixelmuse), or drop --read-only.',
      },
    );
  }
  return selected;
}
