import type { Provider } from '../config.js';
import type { ToolContext } from '../context.js';
import { modelslabAdapter } from '../providers/modelslab/generation.js';
import { modelslabGenerationClient } from '../providers/modelslab/generation-client.js';
import { pixelmuseAdapter } from '../providers/pixelmuse/generation.js';
import type { GenerationAdapter } from './adapter.js';

/** The generation adapter of a provider. */
export async function adapterFor(
  provider: Provider,
  ctx: Pick<ToolContext, 'config' | 'pixelmuse' | 'modelslab' | 'log'>,
): Promise<GenerationAdapter<unknown>> {
  if (provider === 'modelslab') {
    return modelslabAdapter(modelslabGenerationClient(ctx));
  }
  return pixelmuseAdapter(ctx.pixelmuse);
}
