import { Migration } from '@mikro-orm/migrations';
import { TOKEN_REVOKED_CHANNEL } from '../pressure-channel.js';

/**
 * Token scopes, and revocation that reaches every planner at once.
 *
 * `scope`: tokens made before (and tokens made without asking for a scope) keep `general`, the
 * rights the original planner's tokens had, so its clients keep working; `read-only` tokens only
 * read.
 *
 * A token deleted or changed (whoever does it: the API, the CLI, SQL) notifies
 * `auth_token_revoked` with its name in the same transaction, so each planner process ends the
 * pressure streams opened with it. TRUNCATE notifies an empty name: "check every token".
 */
export class TokenScope extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      ALTER TABLE auth_token ADD COLUMN scope text NOT NULL DEFAULT 'general'
        CHECK (scope IN ('general', 'read-only'))`);
    this.addSql(`
      CREATE FUNCTION auth_token_after_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          PERFORM pg_notify('${TOKEN_REVOKED_CHANNEL}', '');
        ELSE
          PERFORM pg_notify('${TOKEN_REVOKED_CHANNEL}', OLD.name);
        END IF;
        RETURN NULL;
      END $$`);
    this.addSql(`
      CREATE TRIGGER auth_token_delete AFTER DELETE ON auth_token
      FOR EACH ROW EXECUTE FUNCTION auth_token_after_change()`);
    this.addSql(`
      CREATE TRIGGER auth_token_update AFTER UPDATE ON auth_token
      FOR EACH ROW
      WHEN (OLD.name IS DISTINCT FROM NEW.name
         OR OLD.token_hash IS DISTINCT FROM NEW.token_hash
         OR OLD.scope IS DISTINCT FROM NEW.scope)
      EXECUTE FUNCTION auth_token_after_change()`);
    this.addSql(`
      CREATE TRIGGER auth_token_truncate AFTER TRUNCATE ON auth_token
      FOR EACH STATEMENT EXECUTE FUNCTION auth_token_after_change()`);
  }

  override async down(): Promise<void> {
    this.addSql('DROP TRIGGER auth_token_delete ON auth_token');
    this.addSql('DROP TRIGGER auth_token_update ON auth_token');
    this.addSql('DROP TRIGGER auth_token_truncate ON auth_token');
    this.addSql('DROP FUNCTION auth_token_after_change()');
    this.addSql('ALTER TABLE auth_token DROP COLUMN scope');
  }
}
