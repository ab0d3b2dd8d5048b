import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createDurably, readIfExists, replaceDurably } from './durable.js';

/**
 * Quotes handed to a client that cannot ask the human itself. Only a digest of each token is written
 * down, so the file proves nothing to whoever reads it; the record survives a restart so that a
 * confirmed charge interrupted by a crash can be finished with the same token (and the same key).
 */

export const TOKEN_TTL_MS = 10 * 60 * 1000;

export interface Confirmation {
  operation: string;
  args_sha256: string;
  amount_usd: number;
  expires_at: string;
  /** Set, durably, just before the charge is sent: the token cannot confirm anything else. */
  used_at?: string;
  /** The provider's reference once the outcome is known. */
  reference?: string;
  /** The provider refused the confirmed charge (its code): the token is spent. */
  refused?: string;
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function openConfirmations(dir: string, now: () => number) {
  const pathOf = (token: string) => join(dir, `${digest(token)}.json`);
  return {
    async issue(
      operation: string,
      argsSha256: string,
      amountUsd: number,
    ): Promise<{ token: string; expiresAt: Date }> {
      const token = `ct_${randomBytes(18).toString('base64url')}`;
      const expiresAt = new Date(now() + TOKEN_TTL_MS);
      const record: Confirmation = {
        operation,
        args_sha256: argsSha256,
        amount_usd: amountUsd,
        expires_at: expiresAt.toISOString(),
      };
      await createDurably(pathOf(token), JSON.stringify(record));
      return { token, expiresAt };
    },
    async read(token: string): Promise<Confirmation | undefined> {
      if (!/^ct_[A-Za-z0-9_-]{10,64}$/.test(token)) return undefined;
      const text = await readIfExists(pathOf(token));
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as Confirmation;
      } catch {
        return undefined;
      }
    },
    async update(token: string, record: Confirmation): Promise<void> {
      await replaceDurably(pathOf(token), JSON.stringify(record));
    },
  };
}

export type Confirmations = ReturnType<typeof openConfirmations>;
