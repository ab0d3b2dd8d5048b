import type { Provider } from '../config.js';
import type { ToolContext } from '../context.js';
import type { GenerationAdapter } from './adapter.js';

/** The adapter of a provider, loaded on first use (each pulls in its provider's client code). */
export async function adapterFor(
  provider: Provider,
  ctx: Pick<ToolContext, 'config' | 'pixelmuse' | 'modelslab' | 'log'>,
): Promise<GenerationAdapter<unknown>> {
  if (provider === 'modelslab') {
    const [{ modelslabAdapter }, { modelslabGenerationClient }] = await Promise.all([
      import('../providers/modelslab/generation.js'),
      import('../providers/modelslab/generation-client.js'),
    ]);
    return modelslabAdapter(modelslabGenerationClient(ctx));
  }
  const { pixelmuseAdapter } = await import('../providers/pixelmuse/generation.js');
  return pixelmuseAdapter(ctx.pixelmuse);
}
