import { describe, expect, it } from 'vitest';
import { holdSecret, redact } from '../src/redact.js';
import { SANDBOX_MODELSLAB_KEY } from '../src/sandbox/index.js';

// Secrets echoed back by upstreams (the attack of issue 16): each must be gone from what leaves the process, and
// not only as a whole: no run of 8 characters of the secret (or of an encoded form of it) may survive.

/** Every 8-character window of `text`. */
function fragments(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 8 <= text.length; i++) out.push(text.slice(i, i + 8));
  return out;
}

function expectNoFragment(text: string, secret: string): void {
  const left = fragments(secret).filter((f) => text.includes(f));
  expect(left, `fragments of ${secret} left in: ${text}`).toEqual([]);
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
// Decoders that survive what redaction leaves ("***" in the middle of an encoded text): written here, not taken
// from the code under test, so that a form it forgets shows up once decoded.
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('latin1');
const unb64url = (s: string) => Buffer.from(s, 'base64url').toString('latin1');
const unurl = (s: string) =>
  s.replace(/%[0-9A-F]{2}/gi, (m) => String.fromCharCode(parseInt(m.slice(1), 16)));
const unjson = (s: string) => s.replace(/\\(["\\/])/g, '$1');
const same = (s: string) => s;

describe('redaction of the secrets the process holds, by value', () => {
  const KEY = 'Qm9kZWxzTGFiS2V5X3Rlc3Q-9f8e7d6c5b4a3928171605f4e3d2c1b0a';
  const PASSWORD = 'c0rrect h0rse&"battery"/staple+';
  holdSecret(KEY);
  holdSecret(PASSWORD);

  it.each([
    ['plain, in a provider message', (s: string) => `Invalid API key ${s} for this account.`, same],
    ['URL-encoded', (s: string) => `GET /x?k=${encodeURIComponent(s)}&y=1`, unurl],
    [
      'URL-encoded twice',
      (s: string) => `next=${encodeURIComponent(encodeURIComponent(s))}`,
      (o: string) => unurl(unurl(o)),
    ],
    [
      'form-encoded',
      (s: string) => `body: ${new URLSearchParams({ pw: s, email: 'a@b.c' }).toString()}`,
      (o: string) => unurl(o.replace(/\+/g, ' ')),
    ],
    ['JSON-escaped', (s: string) => JSON.stringify({ echoed: s }), unjson],
    [
      'JSON inside a JSON string',
      (s: string) => JSON.stringify({ body: JSON.stringify({ echoed: s }) }),
      (o: string) => unjson(unjson(o)),
    ],
    ['base64 on its own', (s: string) => `token ${b64(s)}`, (o: string) => unb64(o.slice('token '.length))],
    ['base64 at offset 1 inside a longer text', (s: string) => b64(`x${s}y`), unb64],
    ['base64 at offset 2 inside a longer text', (s: string) => b64(`xy${s}zz`), unb64],
    ['base64url inside a longer text', (s: string) => b64url(`{"a":"${s}"}`), unb64url],
    ['cut short by a provider message', (s: string) => `Invalid key ${s.slice(0, 20)}…`, same],
    ['glued to other text', (s: string) => `prefix${s}suffix`, same],
  ])('hides a held key and a held password %s', (_, wrap, unwrap) => {
    for (const secret of [KEY, PASSWORD]) {
      const out = redact(wrap(secret));
      expectNoFragment(out, secret);
      // Decoded again, what is left must not give the secret back either.
      expectNoFragment(unwrap(out), secret);
    }
  });

  it('hides a held secret too short for fragments (7 characters) in each of its forms, as a whole', () => {
    const SHORT = 'Zq"9x&1';
    holdSecret(SHORT);
    for (const text of [
      `pw ${SHORT} end`,
      `pw=${encodeURIComponent(SHORT)}&x`,
      `pw=${encodeURIComponent(encodeURIComponent(SHORT))}&x`,
      JSON.stringify({ pw: SHORT }),
      JSON.stringify(JSON.stringify({ pw: SHORT })),
      `b64 ${b64(SHORT)}`,
      b64url(`{"pw":"${SHORT}"}`),
    ]) {
      const out = redact(text);
      expect(out, text).toContain('***');
      for (const form of [SHORT, encodeURIComponent(SHORT), JSON.stringify(SHORT).slice(1, -1)]) {
        expect(out, text).not.toContain(form);
      }
    }
  });

  it('hides a held card number however it is spaced, and followed by its expiry', () => {
    const card = '5105 1051 0510 5100';
    holdSecret(card, 'card');
    for (const text of [
      'card 5105105105105100 declined',
      'card 5105-1051-0510-5100 12/30',
      'card=5105+1051+0510+5100&exp=1230',
      'card%205105%201051%200510%205100',
    ]) {
      const out = redact(text);
      expect(out, text).not.toMatch(/5105.?1051|0510.?5100/);
    }
  });

  it('keeps prose that merely shares words with a held sandbox key', () => {
    holdSecret(SANDBOX_MODELSLAB_KEY);
    expect(redact('ModelsLab refused the request: the ModelsLab key was rejected.')).toBe(
      'ModelsLab refused the request: the ModelsLab key was rejected.',
    );
    expectNoFragment(
      redact(`{"key":"x","echo":"${SANDBOX_MODELSLAB_KEY.slice(10)}"}`),
      SANDBOX_MODELSLAB_KEY,
    );
  });

  it('ignores values too short to hold without masking ordinary words and numbers', () => {
    holdSecret('737');
    holdSecret('abc');
    expect(redact('HTTP 737 abc')).toBe('HTTP 737 abc');
  });
});

describe('redaction by pattern of what upstreams echoed (issue 16)', () => {
  it.each([
    ['a URL-encoded login body', 'email=a%40b.c&password=Zq%21x9%26Lp2w&device_name=x', 'Zq%21x9'],
    [
      'a form body inside a query parameter',
      'next=%2Fl%3Femail%3Da%2540b.c%26password%3DZq9xLp2wQ7%26x%3D1',
      'Zq9xLp2wQ7',
    ],
    ['an URL-encoded key', 'POST /api/v6/x body key=Kx7Qm2Pz9Lw4Rt8Y&model_id=flux', 'Kx7Qm2Pz9Lw4Rt8Y'],
    ['a URL-encoded verification code', 'verification_code=Vc8Hq2Lm9Px4&email=a%40b.c', 'Vc8Hq2Lm9Px4'],
    ['card[cvc]=737', 'type=card&card[number]=4242424242424242&card[cvc]=737&card[exp_month]=12', '737'],
    ['card%5Bcvc%5D=737', 'card%5Bnumber%5D=4242424242424242&card%5Bcvc%5D=737', '737'],
    ['a card number followed by its expiry', 'declined: 4242 4242 4242 4242 12/30', '4242 4242 4242 4242'],
    ['a card number and expiry without separators', 'pan 4000002760003184 1230', '4000002760003184'],
    ['a URL-encoded Sanctum token', `token=x&t=12%7C${'a1B2c3D4e5'.repeat(4)}`, 'a1B2c3D4e5'],
    ['a Sanctum token in a path', `/tokens/12|${'Zz9Yy8Xx7W'.repeat(4)} revoked`, 'Zz9Yy8Xx7W'],
    [
      'a Stripe Checkout client secret',
      'cs_test_a1B2c3D4e5F6g7_secret_fidwbEhqYWAnPydmcHZxamgneCUl',
      'fidwbEhq',
    ],
    ['a live PaymentIntent client secret', 'pi_3Nabc_secret_Qw9Er8Ty7Ui6Op5', 'Qw9Er8Ty'],
  ])('hides %s', (_, text, secret) => {
    expect(redact(text)).not.toContain(secret);
  });

  it('hides an MPP credential sent without the word Payment, with the SPT it carries', () => {
    const credential = b64url(
      JSON.stringify({
        challenge: {
          id: 'ch_1',
          realm: 'pixelmuse',
          method: 'stripe',
          intent: 'charge',
          request: 'eyJhIjoxfQ',
        },
        payload: { spt: 'spt_1QabcDEFghiJKLmnoPQR' },
      }),
    );
    const out = redact(`{"error":"bad credential","credential":"${credential}"}`);
    expect(out).not.toContain(credential.slice(20, 60));
    expect(out).toContain('bad credential');
  });

  it('keeps long ids and hex that carry no payment credential', () => {
    const text =
      'image img_0d4e1b7a93c25f68e0b1a7c4d92f3e5a6b8c0d1e2f3a4 at sha 0123456789abcdef0123456789abcdef01234567';
    expect(redact(text)).toBe(text);
  });
});
