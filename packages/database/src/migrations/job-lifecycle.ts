import { Migration } from '@mikro-orm/migrations';

/**
 * The truth model (docs/pressure.md): jobs the forge holds back are recorded but never
 * assigned nor counted, and GitLab flavors take untagged jobs only as GitLab's `run_untagged`
 * lets a runner. Rows recorded before are brought under the same rules, through the counter
 * triggers, so pressure moves with them.
 */
export class JobLifecycle extends Migration {
  override async up(): Promise<void> {
    this.addSql('ALTER TABLE job ADD COLUMN held boolean NOT NULL DEFAULT false');
    // When a held job was first offered to runners: the staleness window of a released job starts
    // there, not at its creation (a manual deploy job may be played a week after its pipeline).
    this.addSql('ALTER TABLE job ADD COLUMN released_at timestamptz');
    // When reconciliation last found a held job unchanged: held jobs are looked up far less often.
    this.addSql('ALTER TABLE job ADD COLUMN checked_at timestamptz');
    this.addSql('ALTER TABLE flavor ADD COLUMN run_untagged boolean NOT NULL DEFAULT true');

    this.addSql('DROP INDEX job_unassigned_idx');
    this.addSql(`
      CREATE INDEX job_unassigned_idx ON job (platform)
      WHERE completed_at IS NULL AND assigned_flavor IS NULL AND NOT held`);
    this.addSql(`
      CREATE INDEX job_held_idx ON job (platform)
      WHERE completed_at IS NULL AND held`);
    this.addSql('DROP INDEX job_incomplete_age_idx');
    this.addSql(`
      CREATE INDEX job_incomplete_age_idx ON job ((COALESCE(released_at, created_at))) INCLUDE (assigned_flavor)
      WHERE completed_at IS NULL AND assigned_flavor IS NOT NULL`);

    // GitLab's default: a runner with tags does not take untagged jobs unless told to.
    this.addSql(`UPDATE flavor SET run_untagged = (labels = '{}') WHERE platform = 'gitlab'`);

    // Before this migration `created`, `waiting_for_resource` and `preparing` GitLab jobs were
    // recorded as waiting for a runner; a job with no payload of a later status is still held.
    this.addSql(`
      UPDATE job SET held = true, assigned_flavor = NULL
      WHERE platform = 'gitlab' AND completed_at IS NULL AND started_at IS NULL
        AND raw -> 'pending' IS NULL AND raw -> 'running' IS NULL AND raw -> 'canceling' IS NULL`);

    // Untagged GitLab jobs leave flavors that no longer take them, for one that does (or none).
    this.addSql(`
      UPDATE job AS j SET assigned_flavor = (
        SELECT f.name FROM flavor AS f
        WHERE NOT f.is_disabled AND f.platform = 'gitlab' AND f.run_untagged
        ORDER BY f.priority DESC, random()
        LIMIT 1)
      WHERE j.platform = 'gitlab' AND j.completed_at IS NULL AND j.labels = '{}'
        AND j.assigned_flavor IN (SELECT name FROM flavor WHERE platform = 'gitlab' AND NOT run_untagged)`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP INDEX job_incomplete_age_idx');
    this.addSql(`
      CREATE INDEX job_incomplete_age_idx ON job (created_at) INCLUDE (assigned_flavor)
      WHERE completed_at IS NULL AND assigned_flavor IS NOT NULL`);
    this.addSql('DROP INDEX job_held_idx');
    this.addSql('DROP INDEX job_unassigned_idx');
    this.addSql(`
      CREATE INDEX job_unassigned_idx ON job (platform)
      WHERE completed_at IS NULL AND assigned_flavor IS NULL`);
    this.addSql('ALTER TABLE job DROP COLUMN held, DROP COLUMN released_at, DROP COLUMN checked_at');
    this.addSql('ALTER TABLE flavor DROP COLUMN run_untagged');
  }
}
