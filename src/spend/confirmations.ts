import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SpendStateError } from '../errors.js';
import { createDurably, readIfExists, replaceDurably } from './durable.js';

/**
 * Quotes handed to a client that cannot ask the human itself. Only a digest of each token is written
 * down, so the file proves nothing to whoever reads it; the record survives a restart so that a
 * confirmed charge interrupted by a crash is finished with the same token and the same key.
 */

export const TOKEN_TTL_MS = 10 * 60 * 1000;

export interface Confirmation {
  operation: string;
  args_sha256: string;
  /** What the human was shown, for the text. */
  amount_usd: number;
  /** What the token allows at most: a charge asking more needs a new quote. */
  amount_micros: number;
  expires_at: string;
  /** Set, durably, before the charge is sent: the token cannot confirm anything else. */
  used_at?: string;
  /** sha256 of the Idempotency-Key the charge went out with: a retry resends exactly that key, never a new one. */
  key_sha256?: string;
  /** The provider's reference once the charge is booked. */
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
      amount: { usd: number; micros: number },
    ): Promise<{ token: string; expiresAt: Date }> {
      const token = `ct_${randomBytes(18).toString('base64url')}`;
      const expiresAt = new Date(now() + TOKEN_TTL_MS);
      const record: Confirmation = {
        operation,
        args_sha256: argsSha256,
        amount_usd: amount.usd,
        amount_micros: amount.micros,
        expires_at: expiresAt.toISOString(),
      };
      await createDurably(pathOf(token), JSON.stringify(record));
      return { token, expiresAt };
    },
    async read(token: string): Promise<Confirmation | undefined> {
      if (!/^ct_[A-Za-z0-9_-]{10,64}$/.test(token)) return undefined;
      const path = pathOf(token);
      let record: Partial<Confirmation> | undefined;
      try {
        const text = await readIfExists(path);
        if (text === undefined) return undefined;
        record = JSON.parse(text) as Partial<Confirmation>;
      } catch {
        // record stays undefined: reported below
      }
      if (
        typeof record?.operation !== 'string' ||
        typeof record.args_sha256 !== 'string' ||
        !Number.isSafeInteger(record.amount_micros) ||
        typeof record.expires_at !== 'string'
      ) {
        // A used token's key may be in it: a fresh one could pay twice.
        throw new SpendStateError(
          path,
          `The record of this confirmation_token (${path}) cannot be read, so whether it already paid is unknown; nothing was sent.`,
          {
            next: 'Check spend_report and the provider (modelslab_wallet transactions) for the charge; then call again without confirmation_token for a new quote.',
          },
        );
      }
      return record as Confirmation;
    },
    async update(token: string, record: Confirmation): Promise<void> {
      await replaceDurably(pathOf(token), JSON.stringify(record));
    },
  };
}

export type Confirmations = ReturnType<typeof openConfirmations>;
