import { createTestDatabase } from '@runner-planner/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Database, InvalidInputError, migrate } from '../src/index.js';

let url: string;
let drop: () => Promise<void> = async () => {};
let db: Database;
/** Another process's view: a plain connection, as an operator's psql or the CLI would use. */
let sql: pg.Pool;

beforeAll(async () => {
  ({ url, drop } = await createTestDatabase('token_scope'));
  await migrate(url);
  db = await Database.connect(url);
  sql = new pg.Pool({ connectionString: url, max: 2 });
});

afterAll(async () => {
  await db?.close();
  await sql?.end();
  await drop();
});

/** Revocations seen by one subscription, and a way to wait for the next. */
async function watchRevocations() {
  const seen: (string | undefined)[] = [];
  let wake = () => {};
  const subscription = db.subscribeTokenRevocations((name) => {
    seen.push(name);
    wake();
  });
  await subscription.ready;
  return {
    seen,
    subscription,
    async next(): Promise<string | undefined> {
      if (seen.length === 0) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no revocation within 2 s')), 2_000);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return seen.shift();
    },
  };
}

describe('token scopes', () => {
  it('makes general tokens unless asked, read-only ones when asked, and tells them apart', async () => {
    const general = await db.createAuthToken('scope-general');
    const reader = await db.createAuthToken('scope-reader', { scope: 'read-only' });
    expect(await db.lookupAuthToken(general)).toEqual({ name: 'scope-general', scope: 'general' });
    expect(await db.lookupAuthToken(reader)).toEqual({ name: 'scope-reader', scope: 'read-only' });
    expect(await db.verifyAuthToken(reader)).toBe('scope-reader');
    expect(await db.authTokenScope('scope-reader')).toBe('read-only');
    expect(await db.authTokenScope('nobody')).toBeUndefined();
    expect((await db.listAuthTokenInfos()).filter((info) => info.name.startsWith('scope-'))).toEqual([
      { name: 'scope-general', scope: 'general' },
      { name: 'scope-reader', scope: 'read-only' },
    ]);
  });

  it('refuses an unknown scope, and the database refuses one written by hand', async () => {
    await expect(
      db.createAuthToken('scope-admin', { scope: 'admin' as unknown as 'general' }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      sql.query("INSERT INTO auth_token (name, token_hash, scope) VALUES ('x', $1, 'admin')", [
        Buffer.alloc(32, 7),
      ]),
    ).rejects.toThrow(/check constraint/);
  });

  it('gives tokens stored before the scope column the general scope', async () => {
    await sql.query("INSERT INTO auth_token (name, token_hash) VALUES ('scope-old', $1)", [
      Buffer.alloc(32, 9),
    ]);
    expect(await db.authTokenScope('scope-old')).toBe('general');
  });

  it('refuses new token names that are too long or hold control characters', async () => {
    await expect(db.createAuthToken('ci\u001b[2J')).rejects.toThrow('must not contain control');
    await expect(db.createAuthToken('t'.repeat(101))).rejects.toThrow('at most 100 characters');
  });
});

describe('token revocation notifications', () => {
  it('names a token deleted by another connection, as it commits', async () => {
    await db.createAuthToken('revoked-by-sql');
    const watch = await watchRevocations();
    try {
      await sql.query("DELETE FROM auth_token WHERE name = 'revoked-by-sql'");
      expect(await watch.next()).toBe('revoked-by-sql');
    } finally {
      await watch.subscription.close();
    }
  });

  it('names a token deleted through Database, changed in place, and says "any" on TRUNCATE', async () => {
    await db.createAuthToken('revoked-by-db');
    await db.createAuthToken('rescoped');
    const watch = await watchRevocations();
    try {
      await db.deleteAuthToken('revoked-by-db');
      expect(await watch.next()).toBe('revoked-by-db');
      await sql.query("UPDATE auth_token SET scope = 'read-only' WHERE name = 'rescoped'");
      expect(await watch.next()).toBe('rescoped');
      // Deleting a token that does not exist notifies nothing; TRUNCATE cannot name its rows.
      await db.deleteAuthToken('never-existed');
      await sql.query('TRUNCATE auth_token');
      expect(await watch.next()).toBeUndefined();
      expect(watch.seen).toEqual([]);
    } finally {
      await watch.subscription.close();
    }
  });
});
