import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ExistError, InvalidInputError, NotExistError } from '../src/index.js';
import { useDatabase } from './support.js';

const fixture = useDatabase('tokens');

describe('auth tokens', () => {
  it('creates 32 random bytes, verifies them by name and stores only their SHA-256', async () => {
    const token = await fixture.db.createAuthToken('autoscaler');
    const other = await fixture.db.createAuthToken('ops');
    expect(token).toBeInstanceOf(Uint8Array);
    expect(token).toHaveLength(32);
    expect(Buffer.from(token).equals(Buffer.from(other))).toBe(false);
    expect(await fixture.db.verifyAuthToken(token)).toBe('autoscaler');
    expect(await fixture.db.verifyAuthToken(other)).toBe('ops');

    const { rows } = await fixture.sql.query<{ token_hash: Buffer }>(
      "SELECT token_hash FROM auth_token WHERE name = 'autoscaler'",
    );
    expect(rows[0]?.token_hash.equals(createHash('sha256').update(token).digest())).toBe(true);
    const { rows: all } = await fixture.sql.query('SELECT * FROM auth_token');
    expect(JSON.stringify(all)).not.toContain(Buffer.from(token).toString('hex'));
  });

  it('rejects a duplicate name with ExistError', async () => {
    const first = await fixture.db.createAuthToken('dup');
    await expect(fixture.db.createAuthToken('dup')).rejects.toBeInstanceOf(ExistError);
    expect(await fixture.db.verifyAuthToken(first)).toBe('dup');
  });

  it('refuses unknown, altered, short and deleted tokens with NotExistError', async () => {
    const token = await fixture.db.createAuthToken('gone');
    const altered = Uint8Array.from(token);
    altered[0] = (altered[0]! + 1) % 256;
    await expect(fixture.db.verifyAuthToken(altered)).rejects.toBeInstanceOf(NotExistError);
    await expect(fixture.db.verifyAuthToken(new Uint8Array(32))).rejects.toBeInstanceOf(NotExistError);
    await expect(fixture.db.verifyAuthToken(token.subarray(0, 16))).rejects.toBeInstanceOf(NotExistError);
    await fixture.db.deleteAuthToken('gone');
    await expect(fixture.db.verifyAuthToken(token)).rejects.toThrow('does not exist');
  });

  it('lists names and treats deleting a missing token as a no-op', async () => {
    await fixture.db.createAuthToken('b');
    await fixture.db.createAuthToken('a');
    expect(await fixture.db.listAuthTokens()).toEqual(['a', 'b']);
    await fixture.db.deleteAuthToken('missing');
    await fixture.db.deleteAuthToken('a');
    expect(await fixture.db.listAuthTokens()).toEqual(['b']);
  });

  it('rejects an empty name and a token that is not bytes', async () => {
    await expect(fixture.db.createAuthToken('')).rejects.toBeInstanceOf(InvalidInputError);
    await expect(fixture.db.verifyAuthToken('abc' as unknown as Uint8Array)).rejects.toThrow(
      'token must be a Uint8Array',
    );
    expect(await fixture.db.listAuthTokens()).toEqual([]);
  });
});
