import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, textOf, type Harness } from '../helpers/harness.js';

let h: Harness;
afterEach(async () => h?.close());

const codeIn = (text: string) => /verification code is (\w+)/.exec(text)?.[1];

describe('modelslab_signup, modelslab_verify_email, modelslab_resend_verification', () => {
  it('opens an account headlessly: signup, the emailed code, verify; then account_status shows it configured', async () => {
    h = await startHarness({ modelslabCredentials: {}, config: { sandbox: true } });
    const before = textOf(await h.call('account_status'));
    expect(before).toMatch(/ModelsLab \(http:\/\/127\.0\.0\.1:\d+, sandbox\):\n- not configured/);

    const signup = await h.call('modelslab_signup', {
      email: 'me@example.com',
      password: 'hunter22-long',
      name: 'Me',
    });
    expect(signup.isError).toBeFalsy();
    const text = textOf(signup);
    expect(text).toContain('ModelsLab account created for me@example.com (not verified yet).');
    expect(text).toMatch(/^SANDBOX ONLY \(no email is sent in the sandbox\): the verification code is \w+$/m);
    expect(text).toContain('call modelslab_verify_email');
    expect(text).not.toContain('hunter22-long');

    const verified = await h.call('modelslab_verify_email', { verification_code: codeIn(text)! });
    expect(verified.isError, textOf(verified)).toBeFalsy();
    const v = textOf(verified);
    expect(v).toMatch(/Logged in to ModelsLab as me@example\.com\./);
    expect(v).toMatch(/- access token: stored in memory \(sandbox\) \(expires \d{4}-\d\d-\d\d;/);
    expect(v).toMatch(/- API key for generation: \w\w…\w{4}, stored in memory/);
    const user = h.modelslab.accounts.byEmail('me@example.com')!;
    const token = h.modelslab.accounts.tokens.find((t) => t.userId === user.id)!;
    expect(v).not.toContain(token.value);
    expect(v).not.toContain(user.apiKeys[0]!.key);

    const after = textOf(await h.call('account_status'));
    expect(after).toMatch(
      /- access token: \S+ from memory \(sandbox\), expires \d{4}-\d\d-\d\d \(in (29|30) days\)/,
    );
    expect(after).toMatch(/- API key \(generation\): \w\w…\w{4} from memory/);
    expect(after).toContain('- wallet: 0.00 USD');
    expect(after).toContain('- subscription: none');
    expect(after).not.toContain(token.value);
    // The stored token is the one the emulator issued at verification.
    expect(
      h.modelslab.requests.filter((r) => r.path === '/api/agents/v1/wallet/balance')[0]?.headers
        .authorization,
    ).toBe(`Bearer ${token.value}`);
  });

  it('does not show the code outside the sandbox', async () => {
    h = await startHarness({ modelslabCredentials: {} });
    const text = textOf(
      await h.call('modelslab_signup', { email: 'a@example.com', password: 'long-enough' }),
    );
    expect(text).not.toMatch(/verification code is/);
    expect(text).toContain('A verification email was sent to a@example.com.');
  });

  it('turns a 422 validation_error into facts per field, with the request id', async () => {
    h = await startHarness({ modelslabCredentials: {} });
    await h.call('modelslab_signup', { email: 'dup@example.com', password: 'long-enough' });
    const result = await h.call('modelslab_signup', { email: 'dup@example.com', password: 'long-enough' });
    expect(result.isError).toBe(true);
    expect(textOf(result).split('\n').slice(0, 3)).toEqual([
      expect.stringMatching(
        /^ModelsLab refused the request: validation_error \(HTTP 422, request req_\w+\)\.$/,
      ),
      'The email has already been taken.',
      'email: The email has already been taken.',
    ]);
  });

  it('refuses a wrong code with the field named, and resend hands out a working one', async () => {
    h = await startHarness({ modelslabCredentials: {}, config: { sandbox: true } });
    await h.call('modelslab_signup', { email: 'r@example.com', password: 'long-enough' });
    const wrong = await h.call('modelslab_verify_email', { verification_code: 'not-the-code' });
    expect(wrong.isError).toBe(true);
    expect(textOf(wrong)).toContain('verification_code: The verification code is invalid or has expired.');

    const resent = textOf(await h.call('modelslab_resend_verification', { email: 'r@example.com' }));
    expect(resent).toContain('a new verification email is on its way');
    const ok = await h.call('modelslab_verify_email', { verification_code: codeIn(resent)! });
    expect(ok.isError, textOf(ok)).toBeFalsy();
  });

  it('backs off the agent-auth limiter: a 429 says when to retry, and the next call is not even sent', async () => {
    h = await startHarness({ modelslabCredentials: {}, modelslab: { limits: { 'agent-auth': 1 } } });
    // Another client on this machine spends the window first: our client learns of it from the 429.
    await fetch(`${h.modelslab.url}/api/agents/v1/auth/resend-verification`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'x@example.com' }),
    });
    const limited = await h.call('modelslab_resend_verification', { email: 'x@example.com' });
    expect(limited.isError).toBe(true);
    expect(textOf(limited)).toMatch(
      /too_many_requests \(HTTP 429, request req_\w+\)[\s\S]*Next: Retry after \d+ s/,
    );
    const sent = h.modelslab.requests.length;
    const again = await h.call('modelslab_resend_verification', { email: 'x@example.com' });
    expect(textOf(again)).toMatch(
      /The agent-auth limit \(1\/min\) is used up; not sent\.[\s\S]*Retry after \d+ s/,
    );
    expect(h.modelslab.requests.length).toBe(sent);
  });
});
