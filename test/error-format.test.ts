import { describe, expect, it } from 'vitest';
import { formatError } from '../src/error-format.js';
import { annotate, ConfigurationError, NetworkError, ProviderError, UserInputError } from '../src/errors.js';
import { PIXELMUSE_HINTS } from '../src/providers/pixelmuse/errors.js';

describe('formatError', () => {
  it('leads with provider, code, status and request id, then facts, then Next', () => {
    const text = formatError(
      new ProviderError({
        provider: 'pixelmuse',
        status: 402,
        code: 'insufficient_credits',
        requestId: 'req_a1b2c3d4',
        message: 'Insufficient credits. This model requires 4 credits.',
        facts: ['nano-banana-pro costs 4 credits and the balance is 0.'],
        hints: PIXELMUSE_HINTS,
      }),
    );
    expect(text.split('\n')).toEqual([
      'Pixelmuse refused the request: insufficient_credits (HTTP 402, request req_a1b2c3d4).',
      'Insufficient credits. This model requires 4 credits.',
      'nano-banana-pro costs 4 credits and the balance is 0.',
      'Next: Call pixelmuse_buy_credits for a checkout link a human can pay, or pick a cheaper model from list_models.',
    ]);
  });

  it.each([
    [401, 'authentication_error', /login pixelmuse.*PIXELMUSE_API_KEY/s],
    [422, 'content_policy_violation', /nothing was charged; rephrase/],
    [429, 'rate_limit_error', /Retry in a minute/],
    [
      503,
      'service_unavailable',
      /^Pixelmuse failed: .*\nNext: Retry in a minute; the provider is having trouble\./s,
    ],
    [404, 'not_found', /pixelmuse_list_images/],
  ])('names the next step for HTTP %i', (status, code, expected) => {
    expect(
      formatError(
        new ProviderError({ provider: 'pixelmuse', status, code, message: 'm', hints: PIXELMUSE_HINTS }),
      ),
    ).toMatch(expected);
  });

  it.each([401, 402, 404])(
    'gives HTTP %i a generic next step when the provider handed over no hint',
    (status) => {
      const text = formatError(new ProviderError({ provider: 'modelslab', status, message: 'm' }));
      expect(text).not.toMatch(/pixelmuse/i);
      if (status !== 402) expect(text).toMatch(/\nNext: Check the/);
    },
  );

  it('says when to retry from Retry-After', () => {
    const e = new ProviderError({
      provider: 'pixelmuse',
      status: 429,
      code: 'rate_limit_error',
      message: 'm',
      retryAfterSeconds: 42,
    });
    expect(formatError(e)).toContain('Next: Retry after 42 s');
  });

  it('formats input, configuration, network and unknown errors', () => {
    expect(formatError(new UserInputError('bad dir', { next: 'Use a relative folder.' }))).toBe(
      'Invalid input: bad dir\nNext: Use a relative folder.',
    );
    expect(formatError(new ConfigurationError('No key.', { next: 'Set PIXELMUSE_API_KEY.' }))).toBe(
      'Not configured: No key.\nNext: Set PIXELMUSE_API_KEY.',
    );
    expect(formatError(new NetworkError('pixelmuse', 'Could not reach Pixelmuse.'))).toMatch(
      /PIXELMUSE_BASE_URL/,
    );
    expect(formatError(new TypeError('boom'))).toMatch(/^Unexpected error in atelier-mcp: boom\nNext: /);
    const annotated = annotate(new Error('EIO: disk'), {
      facts: ['Job img_1 exists.'],
      next: 'Call get_generation.',
    });
    expect(formatError(annotated)).toBe(
      'Unexpected error in atelier-mcp: EIO: disk\nJob img_1 exists.\nNext: Call get_generation.',
    );
  });

  it('redacts secrets wherever they appear', () => {
    const text = formatError(
      new ProviderError({
        provider: 'pixelmuse',
        status: 400,
        message: 'key pm_live_0123456789abcdef0123456789abcdef and card 4242 4242 4242 4242 rejected',
        facts: ['Authorization: Bearer sk_live_abcdef123456'],
      }),
    );
    expect(text).not.toMatch(/0123456789abcdef|4242 4242|abcdef123456/);
    expect(text).toContain('pm_live_***');
  });
});
