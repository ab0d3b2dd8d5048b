import * as z from 'zod';
import type { Config } from '../src/config.js';
import { UserInputError } from '../src/errors.js';
import { ModelslabAdmin } from '../src/providers/modelslab/admin.js';
import { adminActionsOn } from '../src/tool-selection.js';
import type { ApiKeyInfo } from '../src/providers/modelslab/types.js';
import { mask } from '../src/redact.js';
import { defineTool } from './define.js';

export default defineTool({
  name: 'modelslab_api_keys',
  toolset: 'account',
  providers: ['modelslab'],
  title: 'ModelsLab API keys',
  description:
    'Lists, creates or deletes ModelsLab API keys (masked). Free. A created key becomes the one atelier-mcp ' +
    'generates with; store: false shows it once instead.',
  // The admin toolset adds get and update (name, notes) of one key.
  input: (config: Pick<Config, 'toolsets' | 'readOnly'>) => {
    const admin = adminActionsOn(config);
    return {
      action: z
        .enum(admin ? ['list', 'create', 'delete', 'get', 'update'] : ['list', 'create', 'delete'])
        .optional()
        .describe('Default list.'),
      name: z
        .string()
        .min(1)
        .max(100)
        .optional()
        .describe(admin ? 'create/update: key name.' : 'create: key name.'),
      notes: z
        .string()
        .max(500)
        .optional()
        .describe(admin ? 'create/update: notes.' : 'create: notes.'),
      store: z.boolean().optional().describe('create: default true.'),
      id: z
        .number()
        .int()
        .positive()
        .optional()
        .describe(admin ? 'delete/get/update: key id.' : 'delete: key id.'),
    };
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  async run({ action = 'list', name, notes, store = true, id }, ctx) {
    if (action === 'get' || action === 'update') {
      if (id === undefined) {
        throw new UserInputError(`${action} needs the id of the key.`, {
          next: 'Call with action list to see ids.',
        });
      }
      const admin = new ModelslabAdmin(ctx.modelslab);
      if (action === 'get') return `ModelsLab API key ${describeKey(await admin.apiKey(id, ctx.signal))}`;
      if (name === undefined && notes === undefined) {
        throw new UserInputError('update needs name or notes.', { next: 'Call again with what to change.' });
      }
      return `Updated ModelsLab API key ${describeKey(await admin.updateApiKey(id, { name, notes }, ctx.signal))}`;
    }
    if (action === 'create') {
      if (!name) throw new UserInputError('create needs a name.', { next: 'Call again with name.' });
      const key = await ctx.modelslab.createApiKey({ name, notes }, ctx.signal);
      const head = `Created ModelsLab API key #${key.id} "${key.name}".`;
      if (!store) {
        return `${head}\nThe full key, shown only this once (store it now): ${key.key}`;
      }
      const saved = await ctx.credentials.save('modelslab_api_key', key.key);
      ctx.modelslab.apiKeyRejected();
      return `${head}\nStored ${mask(key.key)} in ${saved.where}; atelier-mcp generates with it from now on.`;
    }
    if (action === 'delete') {
      if (id === undefined) {
        throw new UserInputError('delete needs the id of the key.', {
          next: 'Call with action list to see ids.',
        });
      }
      const stored = await ctx.modelslab.apiKey();
      const keys = await ctx.modelslab.listApiKeys(ctx.signal);
      await ctx.modelslab.deleteApiKey(id, ctx.signal);
      const deleted = keys.find((k) => k.id === id);
      // Listings are masked (first 4 … last 4): enough to warn when the stored key is the one just deleted.
      const wasStored =
        stored &&
        deleted &&
        deleted.key.startsWith(stored.value.slice(0, 4)) &&
        deleted.key.endsWith(stored.value.slice(-4));
      return [
        `Deleted ModelsLab API key #${id}.`,
        ...(wasStored
          ? ['It was the key atelier-mcp generates with: create another (action create) before generating.']
          : []),
      ].join('\n');
    }
    const keys = await ctx.modelslab.listApiKeys(ctx.signal);
    if (keys.length === 0) return 'The account has no API keys. Create one with action create.';
    return [`${keys.length} ModelsLab API key(s):`, ...keys.map((k) => `- ${describeKey(k)}`)].join('\n');
  },
});

function describeKey(k: ApiKeyInfo): string {
  // An update's answer may leave the key out: describe what came back rather than fail on it.
  const key = k.key === undefined ? '' : ` ${k.key.includes('…') ? k.key : mask(k.key)}`;
  return `#${k.id} "${k.name}"${key}${k.created_at ? `, created ${k.created_at.slice(0, 10)}` : ''}${k.notes ? ` (${k.notes})` : ''}`;
}
