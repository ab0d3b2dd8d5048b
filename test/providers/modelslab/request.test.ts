import { describe, expect, it } from 'vitest';
import { buildModelslabRequest } from '../../../src/providers/modelslab/generation.js';
import type { ModelslabModel } from '../../../src/providers/modelslab/models.js';

const schema = (endpoint: string, initImage?: 'array'): ModelslabModel => ({
  model_id: 'm',
  endpoint_configurations: [
    { name: 'text-to-image', endpoint },
    {
      name: 'image-to-image',
      endpoint: endpoint.replace('text', 'image'),
      parameters: { properties: { init_image: { type: initImage ?? 'string' } } },
    },
  ],
});

describe('buildModelslabRequest: documented guesses and their overrides', () => {
  it("takes the v8 endpoint from the model's schema, and params.api_version over it", () => {
    const args = { model: 'flux-2-dev', prompt: 'p' };
    expect(buildModelslabRequest(args).path).toBe('/api/v8/images/text-to-image');
    expect(buildModelslabRequest({ ...args, schema: schema('/api/v8/images/text2img') }).path).toBe(
      '/api/v8/images/text2img',
    );
    // An endpoint of another family or host in the schema is not followed.
    expect(buildModelslabRequest({ ...args, schema: schema('https://evil.example/api/v8/x') }).path).toBe(
      '/api/v8/images/text-to-image',
    );
    const moved = buildModelslabRequest({
      ...args,
      schema: schema('/api/v8/images/text2img'),
      params: { api_version: 'v7' },
    });
    expect([moved.family, moved.path]).toEqual(['v7', '/api/v7/images/text-to-image']);
  });

  it('sends v7 init_image as the schema types it, else as the documented string', () => {
    const args = { model: 'imagen-3', prompt: 'p', inputImage: 'https://e.x/a.png' };
    expect(buildModelslabRequest(args).body.init_image).toBe('https://e.x/a.png');
    expect(
      buildModelslabRequest({ ...args, schema: schema('/api/v7/images/text-to-image', 'array') }).body
        .init_image,
    ).toEqual(['https://e.x/a.png']);
  });
});
