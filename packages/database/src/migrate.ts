import { openOrm } from './orm.js';

/** Arbitrary constant: serialises concurrent `migrate` calls from several processes. */
const MIGRATION_LOCK_KEY = 7_304_171_523;

/**
 * Brings the schema up to date. Idempotent, and safe when several processes start at once:
 * they queue on an advisory lock and the later ones find nothing left to do.
 */
export async function migrate(databaseUrl: string): Promise<void> {
  const orm = await openOrm(databaseUrl, { poolSize: 2 });
  try {
    const connection = orm.em.getConnection();
    await connection.transactional(async (trx) => {
      await connection.execute('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK_KEY], 'all', trx);
      await orm.getMigrator().up({ transaction: trx });
    });
  } finally {
    await orm.close(true);
  }
}
