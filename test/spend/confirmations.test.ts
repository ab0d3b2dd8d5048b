import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SpendStateError } from '../../src/errors.js';
import { openConfirmations, TOKEN_TTL_MS } from '../../src/spend/confirmations.js';

let dir: string;
beforeEach(async () => {
  dir = join(await mkdtemp(join(tmpdir(), 'atelier-tokens-')), 'confirmations');
});
afterEach(async () => {
  await rm(join(dir, '..'), { recursive: true, force: true });
});

const now = Date.parse('2026-12-03T10:00:00.000Z');
const amount = { usd: 25, micros: 25_000_000 };

describe('confirmation tokens', () => {
  it('last ten minutes and are written down only as a digest, with what they confirm', async () => {
    expect(TOKEN_TTL_MS).toBe(600_000);
    const tokens = openConfirmations(dir, () => now);
    const { token, expiresAt } = await tokens.issue('modelslab.wallet.fund', 'abc', amount);
    expect(token).toMatch(/^ct_[A-Za-z0-9_-]{24}$/);
    expect(expiresAt.toISOString()).toBe('2026-12-03T10:10:00.000Z');
    const [file] = await readdir(dir);
    expect(file).toMatch(/^[0-9a-f]{64}\.json$/);
    const text = await readFile(join(dir, file!), 'utf8');
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.slice(3));
    const record = {
      operation: 'modelslab.wallet.fund',
      args_sha256: 'abc',
      amount_usd: 25,
      amount_micros: 25_000_000,
      expires_at: '2026-12-03T10:10:00.000Z',
    };
    expect(JSON.parse(text)).toEqual(record);
    expect(await tokens.read(token)).toEqual(record);
  });

  it('are each new', async () => {
    const tokens = openConfirmations(dir, () => now);
    const a = await tokens.issue('op', 'abc', amount);
    const b = await tokens.issue('op', 'abc', amount);
    expect(a.token).not.toBe(b.token);
    expect(await readdir(dir)).toHaveLength(2);
  });

  it('keep what is learnt about them (used, the key, the reference)', async () => {
    const tokens = openConfirmations(dir, () => now);
    const { token } = await tokens.issue('op', 'abc', amount);
    const record = (await tokens.read(token))!;
    await tokens.update(token, { ...record, used_at: 'then', key_sha256: 'k', reference: 'pi_1' });
    expect(await tokens.read(token)).toEqual({
      ...record,
      used_at: 'then',
      key_sha256: 'k',
      reference: 'pi_1',
    });
  });

  it.each([
    '',
    'ct_',
    'ct_short789',
    'xx_abcdefghijklmnop',
    'x ct_abcdefghijklmnop',
    'ct_abcdefghij klmnop',
    'ct_abcdefghij\n',
    `ct_${'a'.repeat(65)}`,
    'ct_../../../../x',
  ])('a token that is not of our form (%j) is unknown, whatever file its digest names', async (token) => {
    const tokens = openConfirmations(dir, () => now);
    // A record planted under that token's digest (a hand-made file, a token from elsewhere) is not read.
    const { token: real } = await tokens.issue('op', 'abc', amount);
    const [file] = await readdir(dir);
    await writeFile(
      join(dir, `${createHash('sha256').update(token).digest('hex')}.json`),
      await readFile(join(dir, file!), 'utf8'),
    );
    expect(await tokens.read(token)).toBeUndefined();
    expect(await tokens.read(real)).toMatchObject({ operation: 'op' });
  });

  it('a token of our form at the lengths allowed is read', async () => {
    const tokens = openConfirmations(dir, () => now);
    const { token: real } = await tokens.issue('op', 'abc', amount);
    const [file] = await readdir(dir);
    const record = await readFile(join(dir, file!), 'utf8');
    for (const token of ['ct_abcdefghi_', `ct_${'Z9-'.repeat(21)}x`]) {
      await writeFile(join(dir, `${createHash('sha256').update(token).digest('hex')}.json`), record);
      expect(await tokens.read(token)).toMatchObject({ operation: 'op' });
    }
    expect(real).toBeDefined();
  });

  it('a well-formed token never issued is unknown', async () => {
    const tokens = openConfirmations(dir, () => now);
    await tokens.issue('op', 'abc', amount);
    expect(await tokens.read('ct_abcdefghij')).toBeUndefined();
    expect(await tokens.read(`ct_${'a'.repeat(64)}`)).toBeUndefined();
  });

  it.each<[string, string]>([
    ['torn', '{"operation":"op"'],
    ['not an object', 'null'],
    ['without an operation', JSON.stringify({ args_sha256: 'a', amount_micros: 1, expires_at: 'x' })],
    ['without its arguments', JSON.stringify({ operation: 'op', amount_micros: 1, expires_at: 'x' })],
    ['without an amount', JSON.stringify({ operation: 'op', args_sha256: 'a', expires_at: 'x' })],
    [
      'with a fractional amount',
      JSON.stringify({ operation: 'op', args_sha256: 'a', amount_micros: 1.5, expires_at: 'x' }),
    ],
    ['without an expiry', JSON.stringify({ operation: 'op', args_sha256: 'a', amount_micros: 1 })],
  ])('a record %s cannot be read: it fails closed, naming its file', async (_, text) => {
    const tokens = openConfirmations(dir, () => now);
    const { token } = await tokens.issue('op', 'abc', amount);
    const [file] = await readdir(dir);
    await writeFile(join(dir, file!), text);
    const error = await tokens.read(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SpendStateError);
    expect((error as SpendStateError).path).toBe(join(dir, file!));
    expect((error as Error).message).toBe(
      `The record of this confirmation_token (${join(dir, file!)}) cannot be read, so whether it already paid is unknown; nothing was sent.`,
    );
    expect((error as SpendStateError).next).toBe(
      'Check spend_report and the provider (modelslab_wallet transactions) for the charge; then call again without confirmation_token for a new quote.',
    );
  });

  it('a record that cannot be opened fails closed too', async () => {
    const tokens = openConfirmations(dir, () => now);
    const { token } = await tokens.issue('op', 'abc', amount);
    const [file] = await readdir(dir);
    await rm(join(dir, file!));
    await mkdir(join(dir, file!));
    await expect(tokens.read(token)).rejects.toBeInstanceOf(SpendStateError);
  });
});
