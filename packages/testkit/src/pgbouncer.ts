import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { collectOutput } from './child-output.js';
import { findFreePort } from './embedded.js';

/** Debian's package (`apt-get install pgbouncer`); `.ci/run` installs it. */
export const PGBOUNCER = '/usr/sbin/pgbouncer';

export interface PgBouncer {
  /** `databaseUrl` with PgBouncer's host and port in place of PostgreSQL's. */
  url: string;
  version: string;
  /** Transactions PgBouncer has carried for `database` so far (`SHOW STATS`). */
  transactions(database: string): Promise<number>;
  stop(): Promise<void>;
}

/**
 * A PgBouncer of the test's own in front of the PostgreSQL of `databaseUrl` (trust auth, as on
 * this machine), in `poolMode`, with a pool small enough that a session's state (a prepared
 * statement, a LISTEN) cannot count on meeting its server connection again.
 */
export async function startPgBouncer(
  databaseUrl: string,
  poolMode: 'transaction' | 'session' = 'transaction',
): Promise<PgBouncer> {
  if (!existsSync(PGBOUNCER)) {
    throw new Error(`${PGBOUNCER} not found: install Debian's package (apt-get install pgbouncer)`);
  }
  const target = new URL(databaseUrl);
  const user = decodeURIComponent(target.username) || 'postgres';
  const port = await findFreePort();
  const dir = await mkdtemp(join(tmpdir(), 'rp-pgbouncer-'));
  // PgBouncer refuses to run as root; started as root it switches to the postgres user (-u),
  // which must read its files.
  await chmod(dir, 0o755);
  await writeFile(join(dir, 'users.txt'), `"${user}" ""\n`, { mode: 0o644 });
  await writeFile(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || '5432'}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      "unix_socket_dir = ''",
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `admin_users = ${user}`,
      `pool_mode = ${poolMode}`,
      'default_pool_size = 3',
      'max_client_conn = 200',
      // Parameters the drivers send at start-up that PgBouncer would otherwise refuse.
      'ignore_startup_parameters = extra_float_digits,options',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = [...(process.getuid?.() === 0 ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(PGBOUNCER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  const versionText = await new Promise<string>((resolve) => {
    const probe = spawn(PGBOUNCER, ['--version']);
    const text = collectOutput(probe);
    probe.on('exit', () => resolve(text()));
  });
  const deadline = Date.now() + 10_000;
  while (!output().includes('process up')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer did not start:\n${output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const via = new URL(databaseUrl);
  via.hostname = '127.0.0.1';
  via.port = String(port);
  const admin = new URL(via);
  admin.pathname = '/pgbouncer';
  return {
    url: via.toString(),
    version: /PgBouncer (\S+)/.exec(versionText)?.[1] ?? 'unknown',
    async transactions(database) {
      const console = new pg.Client({ connectionString: admin.toString() });
      await console.connect();
      try {
        const { rows } = await console.query<{ database: string; total_xact_count: string }>('SHOW STATS');
        return Number(rows.find((row) => row.database === database)?.total_xact_count ?? 0);
      } finally {
        await console.end();
      }
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
