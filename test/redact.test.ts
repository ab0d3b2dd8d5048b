import { describe, expect, it } from 'vitest';
import { mask, redact } from '../src/http/redact.js';

describe('redaction', () => {
  it.each([
    'pm_live_0123456789abcdef0123456789abcdef',
    'sk_test_51Habcdefghijklmnop',
    'rk_live_abcdefghijklmnop',
    'spt_1Nabcdefghijklmnop',
    'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig',
    '4000 0027 6000 3184',
    '4242424242424242',
    '"cvc":"123"',
    '"password":"hunter22"',
  ])('hides %s', (secret) => {
    const out = redact(`before ${secret} after`);
    expect(out).not.toContain(secret);
    expect(out).toMatch(/^before .* after$/);
  });

  it('keeps ordinary text, ids and timestamps', () => {
    const text = 'job img_abc123 at 2026-11-25T18:00:00.000Z (1764093600001), request req_a1b2c3d4, 1024x576';
    expect(redact(text)).toBe(text);
  });

  it('masks a key so it can be recognised but not used', () => {
    const masked = mask('pm_live_0123456789abcdef0123456789abcdef');
    expect(masked).toBe('pm_live_01…cdef');
    expect(mask('short')).toBe('*****');
  });
});
