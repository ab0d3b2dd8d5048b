import { describe, expect, it } from 'vitest';
import { mask, redact } from '../src/redact.js';

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

  it.each([
    ['double spaces', '4242  4242  4242  4242'],
    ['dots', '4242.4242.4242.4242'],
    ['underscores', '4242_4242_4242_4242'],
    ['no-break spaces', '4242\u00a04242\u00a04242\u00a04242'],
    ['narrow no-break spaces', '4000\u202f0027\u202f6000\u202f3184'],
    ['a dash and a space', '4242 -4242- 4242 4242'],
    ['a word character before it', 'card_4242424242424242'],
  ])('hides a card number separated by %s', (_, card) => {
    const out = redact(`pay with ${card} now`);
    expect(out).toMatch(/^pay with (card_)?\[card\] now$/);
  });

  it('strips the query string of a signed URL and keeps where it points', () => {
    const url =
      'https://cdn.example.com/out/img_1/0.png?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAXYZ&X-Amz-Signature=deadbeef';
    expect(redact(`url: ${url} done`)).toBe(
      'url: https://cdn.example.com/out/img_1/0.png?[signature removed] done',
    );
    expect(redact('see https://x.test/a?sig=abc&se=2026')).toBe('see https://x.test/a?[signature removed]');
  });

  it('keeps a query string that carries no credential', () => {
    const url = 'https://www.pixelmuse.studio/api/v1/images?limit=10&cursor=2026-02-21T18:00:00.000Z';
    expect(redact(url)).toBe(url);
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
