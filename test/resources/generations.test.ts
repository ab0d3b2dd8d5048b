import { execFileSync } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { MAX_RESOURCE_FILE_BYTES, RESOURCE_PAGE_SIZE } from '../../src/history/resources.js';
import { silentLogger } from '../../src/log.js';
import { createServices } from '../../src/services.js';
import { savedPaths, startHarness, textOf, type Harness } from '../helpers/harness.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});
const start = async (...args: Parameters<typeof startHarness>) => {
  const h = await startHarness(...args);
  harnesses.push(h);
  return h;
};

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');

async function generate(h: Harness, prompt: string) {
  const result = await h.call('generate_image', { prompt, model: 'flux-schnell', preview: false });
  expect(result.isError, textOf(result)).toBeFalsy();
  const id = /Job id: (img_\w+)/.exec(textOf(result))![1]!;
  return { result, id, uri: `atelier://generations/pixelmuse-${id}`, paths: savedPaths(result) };
}

async function readError(h: Harness, uri: string): Promise<McpError> {
  try {
    await h.client.readResource({ uri });
  } catch (error) {
    return error as McpError;
  }
  throw new Error(`${uri} was read`);
}

/** A line of generations.jsonl as another server process would have written it. */
async function indexLine(home: string, line: Record<string, unknown>) {
  await mkdir(home, { recursive: true });
  await appendFile(join(home, 'generations.jsonl'), `${JSON.stringify(line)}\n`);
}

describe('generations as resources', () => {
  it('generate_image carries the resource URI in its text and as a resource_link', async () => {
    const h = await start();
    const { result, uri } = await generate(h, 'a lighthouse at dawn');
    expect(textOf(result)).toContain(`resource: ${uri}`);
    expect(result.content).toContainEqual(
      expect.objectContaining({
        type: 'resource_link',
        uri,
        name: uri.split('/').pop(),
        mimeType: 'image/png',
      }),
    );
    // The client hears that the list changed.
    expect(h.received).toContainEqual(
      expect.objectContaining({ method: 'notifications/resources/list_changed' }),
    );
  });

  it('lists each saved generation with provider, model, prompt, time and files, and reads the exact bytes', async () => {
    const h = await start();
    const { uri, paths } = await generate(h, 'a red kite over hills');
    const { resources } = await h.client.listResources();
    const listed = resources.find((r) => r.uri === uri)!;
    expect(listed.mimeType).toBe('image/png');
    expect(listed.title).toBe('flux-schnell: a red kite over hills');
    expect(listed.description).toContain(paths[0]);
    expect(listed._meta).toMatchObject({
      provider: 'pixelmuse',
      model: 'flux-schnell',
      prompt: 'a red kite over hills',
      files: paths,
    });
    expect(Date.parse(listed.annotations!.lastModified!)).toBeGreaterThan(Date.now() - 60_000);

    const { contents } = await h.client.readResource({ uri });
    expect(contents).toHaveLength(1);
    const blob = contents[0] as { uri: string; mimeType: string; blob: string };
    expect(blob.mimeType).toBe('image/png');
    expect(Buffer.from(blob.blob, 'base64').equals(await readFile(paths[0]!))).toBe(true);

    const { resourceTemplates } = await h.client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual([
      'atelier://generations/{id}',
      'atelier://trainings/{id}',
    ]);
    const complete = async (value: string) =>
      (
        await h.client.complete({
          ref: { type: 'ref/resource', uri: 'atelier://generations/{id}' },
          argument: { name: 'id', value },
        })
      ).completion.values;
    expect(await complete('pix')).toEqual([uri.split('/').pop()]);
    expect(await complete('modelslab-')).toEqual([]);
  });

  it('get_generation returns the same URI and the resource gains the files it saved again', async () => {
    const h = await start();
    const first = await generate(h, 'keep me');
    const again = await h.call('get_generation', {
      provider: 'pixelmuse',
      id: first.id,
      output_dir: 'copies',
    });
    expect(textOf(again)).toContain(`resource: ${first.uri}`);
    expect(again.content).toContainEqual(expect.objectContaining({ type: 'resource_link', uri: first.uri }));
    const { resources } = await h.client.listResources();
    expect(resources.filter((r) => r.uri === first.uri)).toHaveLength(1);
    const { contents } = await h.client.readResource({ uri: first.uri });
    expect(contents.map((c) => (c._meta as { path: string }).path)).toEqual([
      ...first.paths,
      ...savedPaths(again),
    ]);
  });

  it('survives a restart: another server on the same ATELIER_HOME lists and reads earlier generations', async () => {
    const h = await start();
    const { uri, paths } = await generate(h, 'remember me');
    expect((await readFile(join(h.home, 'generations.jsonl'), 'utf8')).trim().split('\n')).toHaveLength(1);
    const later = await start({ config: { home: h.home } });
    const { resources } = await later.client.listResources();
    expect(resources.map((r) => r.uri)).toEqual([uri]);
    const { contents } = await later.client.readResource({ uri });
    expect(
      Buffer.from((contents[0] as { blob: string }).blob, 'base64').equals(await readFile(paths[0]!)),
    ).toBe(true);
  });

  it('leaves out a vanished file with a note, and refuses a generation whose files are all gone', async () => {
    const h = await start();
    const first = await generate(h, 'fragile');
    const again = await h.call('get_generation', { provider: 'pixelmuse', id: first.id });
    expect(again.isError, textOf(again)).toBeFalsy();
    const [kept] = savedPaths(again);
    await rm(first.paths[0]!);
    const { contents } = await h.client.readResource({ uri: first.uri });
    expect(contents).toHaveLength(2);
    expect((contents[0]!._meta as { path: string }).path).toBe(kept);
    expect((contents[1] as { text: string }).text).toBe(
      `Left out: ${first.paths[0]}: the file is gone (moved or deleted since)`,
    );
    await rm(kept!);
    const error = await readError(h, first.uri);
    expect(error.code).toBe(-32002);
    expect(error.message).toContain(`None of the files of ${first.uri} can be read.`);
    expect(error.message).toContain(`${kept}: the file is gone`);
    expect(error.message).toContain(
      `Next: Call get_generation with provider "pixelmuse" and id "${first.id}"`,
    );
  });

  it('refuses files over the size cap and files that are no longer images', async () => {
    const h = await start();
    const big = join(h.outputDir, 'big.png');
    const handle = await open(big, 'w');
    await handle.write(PNG);
    await handle.truncate(MAX_RESOURCE_FILE_BYTES + 1);
    await handle.close();
    const text = join(h.outputDir, 'notes.png');
    await writeFile(text, 'not an image at all');
    const small = join(h.outputDir, 'small.png');
    await writeFile(small, PNG);
    const fifo = join(h.outputDir, 'pipe.png');
    execFileSync('mkfifo', [fifo]);
    const files = [big, text, fifo, small].map((path) => ({ path, mimeType: 'image/png', bytes: 1 }));
    await indexLine(h.home, {
      provider: 'pixelmuse',
      id: 'img_hand',
      model: 'm',
      files,
      at: new Date().toISOString(),
    });
    const { contents } = await h.client.readResource({ uri: 'atelier://generations/pixelmuse-img_hand' });
    expect(contents).toHaveLength(2);
    expect(Buffer.from((contents[0] as { blob: string }).blob, 'base64').equals(PNG)).toBe(true);
    const note = (contents[1] as { text: string }).text;
    expect(note).toContain(`${big}: larger than 20 MB`);
    expect(note).toContain(`${text}: no longer holds an image`);
    expect(note).toContain(`${fifo}: no longer a regular file`);
  });

  it('answers an unknown or foreign URI with resource-not-found', async () => {
    const h = await start();
    for (const uri of [
      'atelier://generations/pixelmuse-img_nope',
      'atelier://generations/dalle-1',
      'file:///etc/passwd',
    ])
      expect((await readError(h, uri)).code).toBe(-32002);
  });

  it('pages the list newest first and skips index lines that are not records', async () => {
    const h = await start();
    await mkdir(h.home, { recursive: true });
    await writeFile(join(h.home, 'generations.jsonl'), 'garbage\n{"provider":"dalle","id":"1"}\n');
    const count = RESOURCE_PAGE_SIZE + 20;
    for (let i = 0; i < count; i++)
      await indexLine(h.home, {
        provider: 'modelslab',
        id: String(1000 + i),
        model: 'flux',
        prompt: `p${i}`,
        files: [{ path: `/nowhere/${i}.png`, mimeType: 'image/png', bytes: 10 }],
        at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      });
    const page1 = await h.client.listResources();
    expect(page1.resources).toHaveLength(RESOURCE_PAGE_SIZE);
    expect(page1.resources[0]!.uri).toBe(`atelier://generations/modelslab-${1000 + count - 1}`);
    const page2 = await h.client.listResources({ cursor: page1.nextCursor! });
    expect(page2.resources).toHaveLength(20);
    expect(page2.nextCursor).toBeUndefined();
    expect(page2.resources.at(-1)!.uri).toBe('atelier://generations/modelslab-1000');
    expect(h.logs.filter((l) => l.includes('skipped a line that is not a record'))).toHaveLength(2);
    // Lines appended after a read are picked up by the next one.
    await indexLine(h.home, {
      provider: 'pixelmuse',
      id: 'img_new',
      model: 'x',
      files: [],
      at: '2026-02-01T00:00:00Z',
    });
    expect((await h.client.listResources()).resources[0]!.uri).toBe(
      'atelier://generations/pixelmuse-img_new',
    );
  });

  it('the sandbox keeps its generations in memory, never in ATELIER_HOME', async () => {
    const home = join(await mkdtemp(join(tmpdir(), 'atelier-sbx-')), 'home');
    const config = { ...loadConfig({ sandbox: true }, {}), home };
    const { generations } = createServices(config, silentLogger, { env: {}, memory: {} });
    await generations.record({
      provider: 'pixelmuse',
      id: 'img_sbx',
      model: 'flux-schnell',
      state: 'succeeded',
      saved: [{ path: '/tmp/x.png', bytes: 1, mimeType: 'image/png' }],
      urls: [],
      notes: [],
      elapsedMs: 1,
    });
    expect((await generations.list()).map((g) => g.key)).toEqual(['pixelmuse-img_sbx']);
    await expect(readFile(join(home, 'generations.jsonl'))).rejects.toThrow(/ENOENT/);
    await rm(join(home, '..'), { recursive: true, force: true });
  });
});
