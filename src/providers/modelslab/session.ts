import { mask } from '../../redact.js';
import type { SessionSaved } from './agents.js';

/**
 * What a login or verification stored, for a tool result or the CLI: who, which store, the token's expiry,
 * the key masked. Never the token or the key themselves.
 */
export function describeSession(saved: SessionSaved): string[] {
  const { grant } = saved;
  const expires = grant.expires_at ? `expires ${grant.expires_at.slice(0, 10)}` : 'never expires';
  const lines = [
    `Logged in to ModelsLab${grant.user?.email ? ` as ${grant.user.email}` : ''}.`,
    `- access token: stored in ${saved.token.where} (${expires}; refreshed automatically within a day of expiry)`,
  ];
  if (saved.apiKey && grant.api_key) {
    lines.push(`- API key for generation: ${mask(grant.api_key)}, stored in ${saved.apiKey.where}`);
  } else {
    lines.push('- API key: the account has none yet; create one with modelslab_api_keys (action create).');
  }
  if (saved.token.keychainUnavailable) {
    lines.push(
      `- the OS keychain was unavailable (${saved.token.keychainUnavailable}); the file store was used`,
    );
  }
  return lines;
}

/** Only the sandbox hands what an email carries back; the real service sends it to the inbox. */
export function sandboxCodeLine(code: unknown, sandbox: boolean, what = 'the verification code'): string[] {
  if (!sandbox || typeof code !== 'string' || code === '') return [];
  return [`SANDBOX ONLY (no email is sent in the sandbox): ${what} is ${code}`];
}
