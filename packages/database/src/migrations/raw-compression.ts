import { Migration } from '@mikro-orm/migrations';

/**
 * Every event rewrites its job's `raw` (one payload per action, 10–30 KB), so compressing it
 * is on the hot write path: lz4 costs a fraction of the default pglz's CPU for the same size.
 * Rows written before keep their pglz values, which stay readable. A server built without lz4
 * keeps pglz rather than failing the migration.
 */
export class RawCompression extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      DO $$
      BEGIN
        ALTER TABLE job ALTER COLUMN raw SET COMPRESSION lz4;
      EXCEPTION WHEN feature_not_supported THEN
        RAISE NOTICE 'this PostgreSQL has no lz4 support: job.raw stays pglz-compressed';
      END $$`);
  }

  override async down(): Promise<void> {
    this.addSql('ALTER TABLE job ALTER COLUMN raw SET COMPRESSION default');
  }
}
