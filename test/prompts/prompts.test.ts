import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KNOWN_MODELS } from '../../prompts/complete.js';
import { MAX_TEMPLATE_BYTES } from '../../prompts/user.js';
import { startHarness, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const textOf = (r: { messages: Array<{ content: unknown }> }) =>
  (r.messages[0]!.content as { type: string; text: string }).text;
const argsOf = (text: string) => JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1));

async function complete(name: string, argument: string, value: string, context?: Record<string, string>) {
  const { completion } = await h.client.complete({
    ref: { type: 'ref/prompt', name },
    argument: { name: argument, value },
    ...(context ? { context: { arguments: context } } : {}),
  });
  return completion.values;
}

async function userTemplates(files: Record<string, string>): Promise<string> {
  const dir = join(h.home, 'prompts');
  await mkdir(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('prompts over MCP', () => {
  it('lists workflows and templates with their arguments; a template adds provider, model, aspect_ratio', async () => {
    h = await startHarness();
    const { prompts } = await h.client.listPrompts();
    const byName = Object.fromEntries(prompts.map((p) => [p.name, p]));
    expect(Object.keys(byName)).toEqual(
      expect.arrayContaining([
        'onboard_modelslab',
        'fund_or_subscribe_via_link',
        'generate_within_budget',
        'compare_providers',
        'blog_thumbnail',
      ]),
    );
    expect(byName.blog_thumbnail!.title).toBe('Blog thumbnail');
    expect(byName.blog_thumbnail!.arguments!.map((a) => [a.name, a.required])).toEqual([
      ['topic', true],
      ['style', false],
      ['palette', false],
      ['provider', false],
      ['model', false],
      ['aspect_ratio', false],
    ]);
    expect(byName.onboard_modelslab!.arguments!.map((a) => a.name)).toEqual(['email', 'name']);
  });

  it('renders a template into a generate_image call with its defaults and the overrides', async () => {
    h = await startHarness();
    const thumb = await h.client.getPrompt({
      name: 'blog_thumbnail',
      arguments: {
        topic: 'rust async runtimes',
        palette: 'warm orange',
        provider: 'pixelmuse',
        model: 'flux-schnell',
      },
    });
    const text = textOf(thumb);
    expect(text).toContain('generate_image');
    expect(argsOf(text)).toEqual({
      prompt:
        'Editorial illustration for a blog post about rust async runtimes, flat vector illustration, one clear ' +
        'focal subject, generous empty space on the left for the title, warm orange palette, no text, no logos',
      provider: 'pixelmuse',
      model: 'flux-schnell',
      aspect_ratio: '16:9',
    });
  });

  it('renders a workflow as its instructions with the arguments filled in', async () => {
    h = await startHarness();
    const text = textOf(
      await h.client.getPrompt({ name: 'onboard_modelslab', arguments: { email: 'ada@example.com' } }),
    );
    expect(text).toContain('Email: ada@example.com.');
    expect(text).toContain('modelslab_signup');
    expect(text).not.toContain('{{');
  });

  it('a missing or unknown argument is an error that names it; so is an unknown prompt', async () => {
    h = await startHarness();
    await expect(
      h.client.getPrompt({ name: 'blog_thumbnail', arguments: { colour: 'red' } }),
    ).rejects.toThrow(
      /Prompt blog_thumbnail: no argument named colour; missing topic \(no default\)[\s\S]*Its arguments: topic, style/,
    );
    await expect(h.client.getPrompt({ name: 'blog_thumbnail' })).rejects.toThrow(/missing topic/);
    await expect(h.client.getPrompt({ name: 'blog_thumbnial' })).rejects.toThrow(
      /No prompt named blog_thumbnial\. Prompts: get_started, .*blog_thumbnail/,
    );
  });

  it('completes provider, aspect_ratio and model ids by prefix', async () => {
    h = await startHarness();
    expect(await complete('blog_thumbnail', 'provider', 'pix')).toEqual(['pixelmuse']);
    expect(await complete('blog_thumbnail', 'provider', '')).toEqual(['pixelmuse', 'modelslab']);
    expect(await complete('blog_thumbnail', 'aspect_ratio', '16')).toEqual(['16:9']);
    expect(await complete('blog_thumbnail', 'model', 'flux')).toEqual(
      expect.arrayContaining(['flux-schnell', 'flux', 'flux-pro-1.1']),
    );
    // The chosen provider narrows the ids; then ids that merely contain the text follow the prefix matches.
    expect(await complete('blog_thumbnail', 'model', 'flux', { provider: 'pixelmuse' })).toEqual([
      'flux-schnell',
    ]);
    expect(await complete('blog_thumbnail', 'model', 'ban', { provider: 'modelslab' })).toEqual([
      'nano-banana',
      'nano-banana-t2i',
      'nano-banana-pro',
    ]);
    // app_icon defaults to Pixelmuse, so its models come first without a provider argument.
    expect(await complete('app_icon', 'model', '')).toEqual([...KNOWN_MODELS.pixelmuse]);
    // Workflow arguments of the same names get the same help; `values` are offered too.
    expect(await complete('compare_providers', 'aspect_ratio', '9')).toEqual(['9:16', '9:21']);
    expect(await complete('compare_providers', 'modelslab_model', 'imagen-4')).toEqual([
      'imagen-4',
      'imagen-4.0-ultra',
    ]);
    expect(await complete('fund_or_subscribe_via_link', 'purpose', 's')).toEqual(['subscribe']);
    expect(await complete('blog_thumbnail', 'topic', 'a')).toEqual([]);
  });
});

describe('user templates in ATELIER_HOME/prompts/', () => {
  it('serves *.yaml and *.yml files, a replaced built-in, and skips malformed files by name without failing', async () => {
    h = await startHarness();
    const dir = await userTemplates({
      'avatar.yaml': [
        'name: avatar',
        'title: Team avatar',
        'description: A round team avatar.',
        'prompt: "Portrait avatar of {{ person }}, {{ style }}"',
        'defaults: { provider: modelslab, model: flux, aspect_ratio: "1:1" }',
        'variables:',
        '  person:',
        '  style: soft 3D clay',
        'tags: [team]',
      ].join('\n'),
      'hero.yml':
        'name: hero_image\nprompt: "My own hero of {{ thing }}"\nvariables: { thing: a lighthouse }\n',
      'broken.yaml': 'name: [oops\n',
      'invalid.yml': 'name: Not A Name\nprompt: "A {{ cat }}"\n',
      'huge.yaml': `name: huge\nprompt: "${'x'.repeat(MAX_TEMPLATE_BYTES)}"\n`,
      'notes.txt': 'not a template',
    });
    const { prompts } = await h.client.listPrompts();
    const names = prompts.map((p) => p.name);
    expect(names).toContain('avatar');
    expect(names.filter((n) => n === 'hero_image')).toHaveLength(1);
    expect(names).not.toContain('huge');
    expect(prompts.find((p) => p.name === 'avatar')!.title).toBe('Team avatar');

    const avatar = textOf(await h.client.getPrompt({ name: 'avatar', arguments: { person: 'Grace' } }));
    expect(argsOf(avatar)).toEqual({
      prompt: 'Portrait avatar of Grace, soft 3D clay',
      provider: 'modelslab',
      model: 'flux',
      aspect_ratio: '1:1',
    });
    const hero = textOf(await h.client.getPrompt({ name: 'hero_image' }));
    expect(argsOf(hero).prompt).toBe('My own hero of a lighthouse');

    const warnings = h.logs.filter((l) => l.includes('skipped'));
    expect(warnings.some((l) => l.includes(join(dir, 'broken.yaml')) && l.includes('not valid YAML'))).toBe(
      true,
    );
    expect(warnings.some((l) => l.includes(join(dir, 'invalid.yml')) && l.includes('name: lower-case'))).toBe(
      true,
    );
    expect(warnings.some((l) => l.includes(join(dir, 'huge.yaml')) && l.includes('larger than 64 KB'))).toBe(
      true,
    );
    expect(warnings.join()).not.toContain('notes.txt');

    // Listing again re-reads the folder but reports each bad file once.
    await h.client.listPrompts();
    expect(h.logs.filter((l) => l.includes('skipped'))).toHaveLength(warnings.length);
  });

  it('a FIFO named like a template is skipped at once, not waited on', async () => {
    h = await startHarness();
    const dir = await userTemplates({});
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    expect((await h.client.listPrompts()).prompts.length).toBeGreaterThan(0);
    expect(h.logs.join()).toContain(`${join(dir, 'pipe.yaml')} skipped: not a regular file`);
  });

  it('picks up a template added or fixed while the server runs', async () => {
    h = await startHarness();
    const dir = await userTemplates({ 'late.yaml': 'name: late\nprompt: "A {{ cat }}"\n' });
    expect((await h.client.listPrompts()).prompts.map((p) => p.name)).not.toContain('late');
    await writeFile(join(dir, 'late.yaml'), 'name: late\nprompt: "A {{ cat }}"\nvariables: { cat: tabby }\n');
    expect((await h.client.listPrompts()).prompts.map((p) => p.name)).toContain('late');
  });

  it('two files with one name: the first by file name wins and the second is reported', async () => {
    h = await startHarness();
    const dir = await userTemplates({
      'a.yaml': 'name: twin\nprompt: "first"\n',
      'b.yaml': 'name: twin\nprompt: "second"\n',
    });
    expect(argsOf(textOf(await h.client.getPrompt({ name: 'twin' }))).prompt).toBe('first');
    expect(h.logs.join()).toContain(
      `${join(dir, 'b.yaml')} skipped: the name twin is already used by ${join(dir, 'a.yaml')}`,
    );
  });
});
