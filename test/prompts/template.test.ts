import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { BUILTIN_DOCUMENTS, builtinTemplates } from '../../prompts/builtin.js';
import { parseTemplate, promptArguments, renderTemplate } from '../../prompts/template.js';
import { UserInputError } from '../../src/errors.js';
import { PUBLIC_TOOL_NAMES } from '../helpers/public-api.js';
import { ROOT } from '../helpers/spawn.js';

const image = (extra: Record<string, unknown> = {}) =>
  parseTemplate(
    {
      name: 'thumb',
      description: 'A thumbnail.',
      prompt: 'A {{topic}} in {{ style }}, {{  mood  }}',
      defaults: { provider: 'pixelmuse', model: 'flux-schnell', aspect_ratio: '16:9' },
      variables: { topic: null, style: 'watercolour', mood: '' },
      tags: ['blog'],
      ...extra,
    },
    '/home/me/prompts/thumb.yaml',
  );

function rejects(document: Record<string, unknown>): string {
  try {
    parseTemplate({ name: 'x', ...document }, 'x.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(UserInputError);
    return (error as Error).message;
  }
  throw new Error('the template was accepted');
}

describe('built-in prompts', () => {
  it('every file in prompts/builtin/ is registered under its own name and is valid', async () => {
    const files = (await readdir(join(ROOT, 'prompts', 'builtin'))).filter((f) => f.endsWith('.yaml'));
    expect(Object.keys(BUILTIN_DOCUMENTS).sort()).toEqual(files.map((f) => f.replace('.yaml', '')).sort());
    for (const file of files) {
      const fromDisk = parse(await readFile(join(ROOT, 'prompts', 'builtin', file), 'utf8'));
      // What the build plugin bundled is exactly the YAML on disk.
      expect(BUILTIN_DOCUMENTS[file.replace('.yaml', '')]).toEqual(fromDisk);
    }
    expect(builtinTemplates().map((t) => t.name)).toEqual(Object.keys(BUILTIN_DOCUMENTS));
  });

  it('has the four workflows and image templates the issue asks for', () => {
    const kinds = Object.fromEntries(builtinTemplates().map((t) => [t.name, t.kind]));
    for (const name of [
      'onboard_modelslab',
      'fund_or_subscribe_via_link',
      'generate_within_budget',
      'compare_providers',
    ])
      expect(kinds[name]).toBe('workflow');
    expect(kinds.blog_thumbnail).toBe('image');
  });

  it('every tool a built-in prompt names is a public tool (a rename must update the prompts)', () => {
    const prompts = new Set(builtinTemplates().map((t) => t.name));
    for (const t of builtinTemplates()) {
      const named = [
        ...t.text.matchAll(/\b(?:modelslab|pixelmuse|get|list|generate|account|spend)_[a-z_]+\b/g),
      ].map((m) => m[0]);
      const unknown = named.filter(
        (n) => !prompts.has(n) && !(n in t.variables) && !PUBLIC_TOOL_NAMES.includes(n),
      );
      expect(unknown, `${t.name} names ${unknown.join(', ')}`).toEqual([]);
    }
  });

  it('workflows name the tools of DESIGN.md in the order the flow needs', () => {
    const text = (name: string) => builtinTemplates().find((t) => t.name === name)!.text;
    const order = (name: string, tools: string[]) => {
      const at = tools.map((tool) => text(name).indexOf(tool));
      expect(
        at.every((i) => i >= 0),
        `${name} mentions ${tools.join(', ')}`,
      ).toBe(true);
      expect(at).toEqual([...at].sort((a, b) => a - b));
    };
    order('onboard_modelslab', ['modelslab_signup', 'modelslab_verify_email', 'account_status again']);
    order('fund_or_subscribe_via_link', ['modelslab_create_payment_link', 'modelslab_confirm_checkout']);
    order('generate_within_budget', [
      'account_status',
      'get_pricing',
      'list_models',
      'generate_image',
      'spend_report',
    ]);
    expect(text('compare_providers')).toMatch(/provider "pixelmuse".*provider "modelslab"/);
  });
});

describe('template validation', () => {
  it('reads the schema: variables as name → default (null = required), defaults, tags', () => {
    const t = image();
    expect(t).toMatchObject({ kind: 'image', name: 'thumb', title: 'Thumb', tags: ['blog'] });
    expect(t.variables).toEqual({ topic: {}, style: { default: 'watercolour' }, mood: { default: '' } });
    expect(promptArguments(t).map((a) => [a.name, a.required])).toEqual([
      ['topic', true],
      ['style', false],
      ['mood', false],
      ['provider', false],
      ['model', false],
      ['aspect_ratio', false],
    ]);
  });

  it('turns YAML numbers and booleans into the text the author wrote', () => {
    const t = parseTemplate(
      { name: 'n', instructions: 'Make {{ count }} {{ flag }}', variables: { count: 4, flag: true } },
      'n.yaml',
    );
    expect(t.variables).toEqual({ count: { default: '4' }, flag: { default: 'true' } });
  });

  it.each([
    [{ prompt: 'A {{ cat }}' }, '{{ cat }} used but not declared'],
    [{ prompt: 'A cat', variables: { dog: 'x' } }, 'variables dog declared but never used'],
    [{ prompt: 'A {{ cat', variables: {} }, 'a {{ without a valid'],
    [{ prompt: 'A', instructions: 'B' }, 'either prompt'],
    [{ description: 'nothing' }, 'either prompt'],
    [{ prompt: 'A', defaults: { aspect_ratio: '16x9' } }, 'defaults.aspect_ratio: one of 1:1, 16:9'],
    [{ prompt: 'A', defaults: { aspect_ratio: '7:5' } }, 'defaults.aspect_ratio: one of 1:1, 16:9'],
    [{ prompt: 'A', defaults: { provider: 'dalle' } }, 'defaults.provider'],
    [{ prompt: 'A', colour: 'red' }, 'colour'],
    [{ prompt: 'A {{ model }}', variables: { model: 'x' } }, 'variables.model: model is set under defaults'],
    [{ instructions: 'Go', defaults: { model: 'x' } }, 'defaults apply to image templates'],
    [{ name: 'Blog Thumb', prompt: 'A' }, 'name: lower-case letters'],
    [
      { prompt: 'A {{ p }}', variables: { p: { default: 'c', values: ['a', 'b'] } } },
      'not one of its values',
    ],
  ])('rejects %j with a message naming the problem', (document, message) => {
    expect(rejects(document)).toContain(message);
  });
});

describe('interpolation', () => {
  it('fills {{ var }} with spaces inside the braces, defaults for what is not given, and tidies empty ones', () => {
    const text = renderTemplate(image(), { topic: 'tidal energy' });
    const args = JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1));
    expect(args).toEqual({
      prompt: 'A tidal energy in watercolour',
      provider: 'pixelmuse',
      model: 'flux-schnell',
      aspect_ratio: '16:9',
    });
    expect(text).toContain('generate_image');
    expect(renderTemplate(image(), { topic: 'x', mood: 'calm', style: '  ' })).toContain(
      '"prompt": "A x in watercolour, calm"',
    );
  });

  it('provider, model and aspect_ratio override the defaults; another provider drops the default model', () => {
    const args = (given: Record<string, string>) => {
      const text = renderTemplate(image(), { topic: 'x', ...given });
      return JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1));
    };
    expect(args({ model: 'recraft-v4', aspect_ratio: '9:16' })).toMatchObject({
      provider: 'pixelmuse',
      model: 'recraft-v4',
      aspect_ratio: '9:16',
    });
    const other = args({ provider: 'modelslab' });
    expect(other.provider).toBe('modelslab');
    expect(other).not.toHaveProperty('model');
    expect(args({ provider: 'modelslab', model: 'flux' })).toMatchObject({ model: 'flux' });
  });

  it('a value is inserted once, never read as a placeholder itself', () => {
    expect(renderTemplate(image(), { topic: '{{ style }}' })).toContain(
      '"prompt": "A {{ style }} in watercolour"',
    );
  });

  it('names every missing and unknown argument in one error, with the arguments it has', () => {
    let error: UserInputError | undefined;
    try {
      renderTemplate(image(), { colour: 'red', size: 'big', provider: 'dalle', aspect_ratio: 'wide' });
    } catch (e) {
      error = e as UserInputError;
    }
    expect(error).toBeInstanceOf(UserInputError);
    expect(error!.message).toContain('no argument named colour, size');
    expect(error!.message).toContain('missing topic');
    expect(error!.message).toContain('provider must be pixelmuse or modelslab, not "dalle"');
    expect(error!.message).toContain('aspect_ratio must be one of 1:1, 16:9,');
    expect(error!.facts.join()).toContain('topic, style, mood, provider, model, aspect_ratio');
    expect(error!.next).toContain('/home/me/prompts/thumb.yaml');
  });

  it('a blank required argument counts as missing; a value outside `values` is refused', () => {
    expect(() => renderTemplate(image(), { topic: '   ' })).toThrow(/missing topic/);
    const t = parseTemplate(
      {
        name: 'p',
        instructions: 'Do {{ purpose }}',
        variables: { purpose: { default: 'fund', values: ['fund', 'subscribe'] } },
      },
      'p.yaml',
    );
    expect(renderTemplate(t, { purpose: 'subscribe' })).toBe('Do subscribe');
    expect(() => renderTemplate(t, { purpose: 'refund' })).toThrow(/purpose must be one of fund, subscribe/);
  });
});
