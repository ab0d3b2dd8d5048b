import { defineTool } from './define.js';
import { id } from './params.js';

export default defineTool({
  name: 'pixelmuse_delete_image',
  toolset: 'images',
  providers: ['pixelmuse'],
  title: 'Delete a Pixelmuse image',
  description:
    'Permanently removes one image from the Pixelmuse history. Files saved in the project stay. Free; no refund. ' +
    'pixelmuse_list_images gives the ids.',
  input: { id },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async run({ id }, ctx) {
    await ctx.pixelmuse.deleteImage(id, ctx.signal);
    return `Deleted ${id}.`;
  },
});
