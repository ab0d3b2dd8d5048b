import { ApiError } from '../core/exchange.js';
import { ASPECT_RATIOS, MODELS, type ModelSpec, type Visibility } from './catalog.js';

/** GenerateImageRequest.model's enum in the OpenAPI. */
const GENERATE_MODELS = ['flux-schnell', 'recraft-v4', 'recraft-v4-pro', 'imagen-3', 'nano-banana-pro'];

export interface GenerateInput {
  prompt: string;
  model: ModelSpec;
  aspectRatio: string;
  visibility: Visibility;
}

export function validateGenerate(body: Record<string, unknown>): GenerateInput {
  const bad = (message: string) => new ApiError(400, 'invalid_request_error', message);
  const { prompt, model, aspect_ratio, negative_prompt, image_input, visibility, ...rest } = body;
  // The OpenAPI GenerateImageRequest lists six fields; the emulator takes no other, so a client that sends one fails.
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw bad(`Unknown field(s): ${unknown.join(', ')}.`);

  if (prompt === undefined) throw bad('prompt is required.');
  if (typeof prompt !== 'string') throw bad('prompt must be a string.');
  if (prompt.length < 1) throw bad('prompt must not be empty.');
  if (prompt.length > 10_000) throw bad('prompt must be at most 10000 characters.');

  if (model === undefined) throw bad('model is required.');
  // Only the models of the OpenAPI request enum: nano-banana-2 is listed by /models but not in it.
  const spec = MODELS.find((m) => m.id === model && GENERATE_MODELS.includes(m.id));
  if (!spec) throw bad(`model must be one of: ${GENERATE_MODELS.join(', ')}.`);

  if (
    aspect_ratio !== undefined &&
    (typeof aspect_ratio !== 'string' || !ASPECT_RATIOS.includes(aspect_ratio))
  ) {
    throw bad(`aspect_ratio must be one of: ${ASPECT_RATIOS.join(', ')}.`);
  }
  const ratio = aspect_ratio ?? '1:1';
  if (!spec.supported_aspect_ratios.includes(ratio)) {
    throw bad(
      `aspect_ratio ${ratio} is not supported by ${spec.id}; supported: ${spec.supported_aspect_ratios.join(', ')}.`,
    );
  }

  if (negative_prompt !== undefined && typeof negative_prompt !== 'string') {
    throw bad('negative_prompt must be a string.');
  }
  if (typeof negative_prompt === 'string' && negative_prompt.length > 5000) {
    throw bad('negative_prompt must be at most 5000 characters.');
  }
  if (image_input !== undefined && typeof image_input !== 'string')
    throw bad('image_input must be a string.');
  if (visibility !== undefined && visibility !== 'public' && visibility !== 'private') {
    throw bad('visibility must be "public" or "private".');
  }
  return { prompt, model: spec, aspectRatio: ratio, visibility: visibility ?? 'private' };
}

/** `Prefer: wait=N` (RFC 7240) in seconds, capped at 60; bare `wait` means the cap. Null when absent. */
export function preferWait(header: string | undefined): number | null {
  if (!header) return null;
  for (const part of header.split(/[,;]/)) {
    const match = /^\s*wait\s*(?:=\s*"?(\d+(?:\.\d+)?)"?)?\s*$/i.exec(part);
    if (match) return match[1] === undefined ? 60 : Math.min(60, Number(match[1]));
  }
  return null;
}
