import { type OrmOptions, openOrm } from './orm.js';

/** Arbitrary constant: serialises concurrent `migrate` calls from several processes. */
const MIGRATION_LOCK_KEY = 7_304_171_523;

/** Loaded here only: see `OrmOptions.migrator`. */
export async function migratorOptions(): Promise<NonNullable<OrmOptions['migrator']>> {
  const [{ Migrator }, { migrations }] = await Promise.all([
    import('@mikro-orm/migrations'),
    import('./migrations/index.js'),
  ]);
  return {
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
  };
}

/**
 * Brings the schema up to date. Idempotent, and safe when several processes start at once:
 * they queue on an advisory lock and the later ones find nothing left to do.
 */
export async function migrate(databaseUrl: string): Promise<void> {
  const orm = await openOrm(databaseUrl, { poolSize: 2, migrator: await migratorOptions() });
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
