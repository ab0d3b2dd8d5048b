import { describe, expect, it } from 'vitest';
import { mask, redact } from '../src/redact.js';

describe('redaction', () => {
  it.each([
    'pm_live_0123456789abcdef0123456789abcdef',
    'sk_test_51Habcdefghijklmnop',
    'rk_live_abcdefghijklmnop',
    'spt_1Nabcdefghijklmnop',
    'Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig',
    'Payment eyJjaGFsbGVuZ2UiOnsiaWQiOiJhYmMifX0',
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

  it('leaves prose about payments alone', () => {
    const text = 'Shared Payment Tokens; 402 Payment Required; Bearer token missing';
    expect(redact(text)).toBe(text);
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
    expect(redact('Saved pm_1234567890123b0e528ca7 and img_4242424242424242abc')).toBe(
      'Saved pm_1234567890123b0e528ca7 and img_4242424242424242abc',
    );
    const text = 'job img_abc123 at 2026-11-25T18:00:00.000Z (1764093600001), request req_a1b2c3d4, 1024x576';
    expect(redact(text)).toBe(text);
  });

  it('masks a key so it can be recognised but not used', () => {
    const masked = mask('pm_live_0123456789abcdef0123456789abcdef');
    expect(masked).toBe('pm_live_01…cdef');
    expect(mask('short')).toBe('*****');
  });
});

describe('redaction of account secrets (ModelsLab)', () => {
  const KEY = 'SbxModelsLabKey7f3a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9';
  it.each([
    ['password= in a form body', 'email=a%40b.c&password=hunter22&name=x', 'hunter22'],
    ['password= in log text', 'login failed with password=hunter22 for a@b.c', 'hunter22'],
    ['"password": with spaces', '{"email":"a@b.c", "password" : "hun\\"ter22"}', 'ter22'],
    ['"password": a number', '{"password": 12345678}', '12345678'],
    ['"password_confirmation"', '{"password_confirmation":"hunter22"}', 'hunter22'],
    ['"current_password"', '{"current_password":"hunter22"}', 'hunter22'],
    ['JSON inside a JSON string', '{"body":"{\\"password\\":\\"hunter22\\"}"}', 'hunter22'],
    ['"verification_code"', '{"verification_code":"Xy7Qk2mP9"}', 'Xy7Qk2mP9'],
    ['verification_code=', 'POST /auth/verify-email verification_code=Xy7Qk2mP9', 'Xy7Qk2mP9'],
    ['"refresh_token"', '{"refresh_token":"rt_abcdef123"}', 'rt_abcdef123'],
    ['"access_token"', '{"access_token": "12|abcdefghij"}', 'abcdefghij'],
    ['access_token= in a query', '/oauth?access_token=tok123&x=1', 'tok123'],
    ['a ModelsLab key in a generation body', `{"key":"${KEY}","prompt":"a cat"}`, KEY],
    ['a ModelsLab key in a form body', `key=${KEY}&model_id=flux`, KEY],
    ['?key= in an absolute URL', `https://modelslab.com/api/v6/model-search?key=${KEY}&search=flux`, KEY],
    ['?key= in a relative URL', `GET /api/v6/model-search?key=${KEY}`, KEY],
    ['a Sanctum token in text', `token 12|${'a1B2c3D4e5'.repeat(4)} expired`, 'a1B2c3D4e5'],
  ])('hides %s', (_, text, secret) => {
    const out = redact(text);
    expect(out).not.toContain(secret);
  });

  it('keeps what is not secret: prompts, emails, ids, expiry names and numbers', () => {
    const text =
      '{"email":"a@b.c","prompt":"a key=value sign","token_expiry":"1_month","id":42,"expires_at":"2026-12-30T00:00:00Z"}';
    expect(redact(text)).toBe(text.replace('key=value', 'key=***'));
    expect(redact('page 3 of 12, request req_a1b2c3')).toBe('page 3 of 12, request req_a1b2c3');
  });
});
