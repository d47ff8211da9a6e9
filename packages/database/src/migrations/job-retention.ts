import { Migration } from '@mikro-orm/migrations';

/**
 * What the worker's retention pass needs to find its work without scanning the table: completed
 * jobs by completion time, and among them those that still hold their webhook payloads.
 *
 * `raw_dropped` says the payloads were dropped, rather than a test on `raw` itself: an index whose
 * predicate read `raw` would make every write of a job row read its payloads back.
 */
export class JobRetention extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE job ADD COLUMN raw_dropped boolean NOT NULL DEFAULT false');
    this.addSql('CREATE INDEX job_completed_idx ON job (completed_at) WHERE completed_at IS NOT NULL');
    this.addSql(`
      CREATE INDEX job_raw_kept_idx ON job (completed_at)
      WHERE completed_at IS NOT NULL AND NOT raw_dropped`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX job_raw_kept_idx');
    this.addSql('DROP INDEX job_completed_idx');
    this.addSql('ALTER TABLE job DROP COLUMN raw_dropped');
  }
}
