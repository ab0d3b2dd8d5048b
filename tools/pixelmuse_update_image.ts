import * as z from 'zod';
import { defineTool } from './define.js';
import { id } from './params.js';

export default defineTool({
  name: 'pixelmuse_update_image',
  toolset: 'images',
  providers: ['pixelmuse'],
  title: 'Change a Pixelmuse image',
  description:
    'Makes one Pixelmuse image public (a share page at https://www.pixelmuse.studio/g/<id>) or private (the ' +
    'account only). Free. pixelmuse_list_images gives the ids.',
  input: {
    id,
    visibility: z.enum(['public', 'private']).describe('New visibility.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ id, visibility }, ctx) {
    const image = await ctx.pixelmuse.updateImage(id, { visibility }, ctx.signal);
    const share =
      image.visibility === 'public' ? ` Share page: https://www.pixelmuse.studio/g/${image.id}` : '';
    return `${image.id} is now ${image.visibility ?? visibility}.${share}`;
  },
});
