import { defineTool } from './define.js';
import { id } from './params.js';

export default defineTool({
  name: 'pixelmuse_delete_image',
  toolset: 'images',
  providers: ['pixelmuse'],
  title: 'Delete a Pixelmuse image',
  description:
    'Permanently removes one image from the Pixelmuse history (it disappears from listings and by id). Files ' +
    'already saved in the project are kept. Free; credits are not refunded. Use pixelmuse_list_images to find ids.',
  input: { id },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async run({ id }, ctx) {
    await ctx.pixelmuse.deleteImage(id, ctx.signal);
    return `Deleted ${id}.`;
  },
});
