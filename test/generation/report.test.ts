import sharp from 'sharp';
import { describe, expect, it, vi } from 'vitest';
import type { JobOutcome } from '../../src/generation/outcome.js';
import { reportOutcomes } from '../../src/generation/report.js';
import { openGenerations } from '../../src/history/store.js';
import { silentLogger } from '../../src/log.js';
import { createMedia } from '../../src/media/index.js';

const media = createMedia({
  config: { outputDir: '/unused', cwd: '/', dataDir: '/' },
  roots: async () => [],
  log: silentLogger,
});

function succeeded(extra: Partial<JobOutcome>): PromiseSettledResult<JobOutcome>[] {
  return [
    {
      status: 'fulfilled',
      value: {
        provider: 'pixelmuse',
        id: 'img_mem',
        model: 'flux-schnell',
        state: 'succeeded',
        // Gone from disk by now (moved by the user, say): only what is in memory can make the preview.
        saved: [{ path: '/nonexistent/atelier/moved.png', bytes: 100, mimeType: 'image/png' }],
        urls: [],
        notes: [],
        elapsedMs: 1,
        ...extra,
      },
    },
  ];
}

describe('reportOutcomes', () => {
  it('makes the preview from the bytes it saved, without reading the file back', async () => {
    const png = await sharp({ create: { width: 1200, height: 600, channels: 3, background: '#e76f51' } })
      .png()
      .toBuffer();
    const blocks = await reportOutcomes(succeeded({ firstBytes: png }), {
      media,
      generations: openGenerations({ log: silentLogger }),
      preview: true,
    });
    const image = blocks.find((b) => b.type === 'image');
    expect(image).toBeDefined();
    const meta = await sharp(Buffer.from(image!.type === 'image' ? image!.data : '', 'base64')).metadata();
    expect(meta).toMatchObject({ format: 'jpeg', width: 768, height: 384 });
    expect(blocks[0]).toMatchObject({ type: 'text', text: expect.stringContaining('Preview of moved.png') });
  });

  it('writes the generation records while the preview is made, not before it', async () => {
    const png = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#264653' } })
      .png()
      .toBuffer();
    const previewed = vi.spyOn(media, 'preview');
    const store = openGenerations({ log: silentLogger });
    const events: string[] = [];
    const generations = {
      async record(outcome: JobOutcome) {
        // Waits for the preview, which would start only after the records if the two took turns.
        await vi.waitFor(() => expect(previewed).toHaveBeenCalled(), { timeout: 10_000 }).catch(() => {});
        events.push(
          previewed.mock.calls.length > 0 ? 'recording, preview begun' : 'recording, no preview yet',
        );
        return store.record(outcome);
      },
    };
    const blocks = await reportOutcomes(succeeded({ firstBytes: png }), {
      media,
      generations,
      preview: true,
    });
    expect(events).toEqual(['recording, preview begun']);
    expect(blocks.map((b) => b.type)).toEqual(['text', 'image', 'resource_link']);
    previewed.mockRestore();
  });

  it('shows the preview the engine made while saving, without making another', async () => {
    const previewed = vi.spyOn(media, 'preview');
    const made = { data: 'AAAA', mimeType: 'image/jpeg' as const, width: 64, height: 32 };
    const blocks = await reportOutcomes(succeeded({ preview: Promise.resolve(made) }), {
      media,
      generations: openGenerations({ log: silentLogger }),
      preview: true,
    });
    expect(blocks[1]).toEqual({ type: 'image', data: 'AAAA', mimeType: 'image/jpeg' });
    expect(previewed).not.toHaveBeenCalled();
    previewed.mockRestore();
  });
});
