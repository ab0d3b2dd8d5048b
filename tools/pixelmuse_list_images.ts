import * as z from 'zod';
import { defineTool } from './define.js';
import { cursor, limit } from './params.js';

export default defineTool({
  name: 'pixelmuse_list_images',
  toolset: 'images',
  providers: ['pixelmuse'],
  title: 'List Pixelmuse images',
  description:
    'Lists Pixelmuse images, newest first: id, status, model, visibility, prompt. Free. Gives the ids for ' +
    'get_generation, pixelmuse_update_image and pixelmuse_delete_image.',
  input: {
    limit,
    cursor,
    status: z.enum(['pending', 'succeeded', 'failed']).optional().describe('Only images in this state.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async run({ limit, cursor, status }, ctx) {
    const page = await ctx.pixelmuse.listImages({ limit, cursor, status }, ctx.signal);
    if (page.data.length === 0)
      return cursor ? 'No more images.' : 'No images yet. Generate one with generate_image.';
    const lines = page.data.map((img) => {
      const prompt = img.prompt.length > 70 ? `${img.prompt.slice(0, 67)}...` : img.prompt;
      return `- ${img.id} · ${img.status} · ${img.model} · ${img.visibility ?? 'private'} · ${img.created_at ?? ''} · "${prompt}"`;
    });
    const more =
      page.has_more && page.next_cursor
        ? `More: call again with cursor "${page.next_cursor}".`
        : 'End of list.';
    return [`${page.data.length} image(s):`, ...lines, more].join('\n');
  },
});
