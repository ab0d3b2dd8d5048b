/** The image models the ModelsLab emulator knows: what the generation routes serve and the model routes list. */
export interface CatalogModel {
  model_id: string;
  model_name: string;
  /** The upstream vendor, as the Agents API `provider` field names it. */
  provider: string;
  model_type: 'text-to-image' | 'image-to-image';
  feature: 'imagen';
  base_model: string;
  description: string;
  api_version: 'v6' | 'v7' | 'v8';
  /** USD per image, debited from the wallet at creation. */
  price_usd: number;
  /** Answers at once instead of `processing`. */
  sync?: boolean;
  /** Extra required request fields. */
  requires?: string[];
  /** Served by this endpoint only (an id per endpoint, as upstream does for some models). */
  only?: 'text-to-image' | 'image-to-image';
  /** How image-to-image takes init_image (its schema says so): a URL string (the documents), or a list. */
  initImage?: 'string' | 'array';
}

export const CATALOG: CatalogModel[] = [
  model('flux', 'Flux', 'black-forest-labs', 'v6', 0.01, 'Fast, good prompt following; community endpoint.'),
  model('sdxl', 'Stable Diffusion XL', 'stability', 'v6', 0.01, 'Classic SDXL with schedulers and LoRAs.', {
    sync: true,
  }),
  model('midjourney', 'MidJourney style', 'community', 'v6', 0.01, 'Painterly community checkpoint.'),
  model('imagen-3', 'Imagen 3', 'google', 'v7', 0.03, "Google's photorealistic model."),
  model('imagen-4', 'Imagen 4', 'google', 'v7', 0.04, "Google's newest; needs an aspect_ratio.", {
    requires: ['aspect_ratio'],
  }),
  model('nano-banana-pro', 'Nano Banana Pro', 'google', 'v7', 0.14, 'Gemini image model; strong at edits.', {
    initImage: 'array',
  }),
  // Upstream splits Nano Banana by endpoint: `nano-banana` edits (image-to-image), `nano-banana-t2i` draws.
  model('nano-banana', 'Nano Banana', 'google', 'v7', 0.04, 'Gemini image editing.', {
    model_type: 'image-to-image',
    only: 'image-to-image',
  }),
  model('nano-banana-t2i', 'Nano Banana (text to image)', 'google', 'v7', 0.04, 'Gemini image model.', {
    only: 'text-to-image',
  }),
  model('seedream', 'Seedream', 'bytedance', 'v7', 0.03, 'Answers synchronously.', { sync: true }),
  model('flux-2-dev', 'FLUX.2 dev', 'black-forest-labs', 'v8', 0.02, 'v8 endpoint (unconfirmed upstream).'),
];

function model(
  model_id: string,
  model_name: string,
  provider: string,
  api_version: CatalogModel['api_version'],
  price_usd: number,
  description: string,
  extra: Partial<CatalogModel> = {},
): CatalogModel {
  return {
    model_id,
    model_name,
    provider,
    model_type: 'text-to-image',
    feature: 'imagen',
    base_model: model_id,
    description,
    api_version,
    price_usd,
    ...extra,
  };
}

/** The public view, with the parameter schema the Agents API gives per endpoint configuration. */
export function modelView(m: CatalogModel, details = false): Record<string, unknown> {
  const base = {
    model_id: m.model_id,
    model_name: m.model_name,
    provider: m.provider,
    model_type: m.model_type,
    feature: m.feature,
    base_model: m.base_model,
    description: m.description,
  };
  if (!details) return base;
  const path =
    m.api_version === 'v6' ? '/api/v6/images/text2img' : `/api/${m.api_version}/images/text-to-image`;
  const editPath =
    m.api_version === 'v6' ? '/api/v6/images/img2img' : `/api/${m.api_version}/images/image-to-image`;
  const edit =
    m.only === 'text-to-image'
      ? []
      : [
          {
            name: 'image-to-image',
            endpoint: editPath,
            parameters: {
              type: 'object',
              required: ['prompt', 'init_image'],
              properties: {
                prompt: { type: 'string' },
                init_image:
                  m.initImage === 'array'
                    ? { type: 'array', items: { type: 'string', format: 'uri' } }
                    : { type: 'string', format: 'uri' },
              },
            },
          },
        ];
  return {
    ...base,
    endpoint_configurations: [
      ...edit,
      {
        name: 'text-to-image',
        endpoint: path,
        parameters: {
          type: 'object',
          required: ['prompt', ...(m.requires ?? [])],
          properties: {
            prompt: { type: 'string', description: 'What to draw.' },
            negative_prompt: { type: 'string' },
            ...(m.api_version === 'v6'
              ? {
                  width: { type: 'integer', default: 512, maximum: 1024 },
                  height: { type: 'integer', default: 512, maximum: 1024 },
                  num_inference_steps: { type: 'integer', default: 30, minimum: 1, maximum: 50 },
                  guidance_scale: { type: 'number', default: 7.5 },
                  scheduler: {
                    type: 'string',
                    enum: ['UniPCMultistepScheduler', 'DPMSolverMultistepScheduler'],
                  },
                }
              : { aspect_ratio: { type: 'string', enum: ['1:1', '16:9', '9:16', '4:3', '3:4'] } }),
            samples: { type: 'integer', default: 1, minimum: 1, maximum: 4 },
            seed: { type: ['integer', 'null'] },
          },
        },
      },
    ],
  };
}
