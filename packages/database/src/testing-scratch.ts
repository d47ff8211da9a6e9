/**
 * Scratch databases for benchmarks and the soak test: a whole database per run, on an admin
 * connection, before any schema exists. Here rather than in a bench folder because `pg` stays
 * in this package.
 */
import pg from 'pg';

/** A database of its own on the admin URL's server; `drop()` is idempotent. */
export interface ScratchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(adminUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** `label` tells apart the databases of one run that makes several (e.g. `worker`, `e2e`). */
export async function createScratchDatabase(adminUrl: string, label?: string): Promise<ScratchDatabase> {
  const name = ['runner_planner_bench', label, process.pid, Date.now()].filter(Boolean).join('_');
  await admin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    name,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      // FORCE ends connections a failed run may have left open (PostgreSQL 13+).
      await admin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** `SHOW server_version` of the server behind `url`. */
export async function serverVersion(url: string): Promise<string> {
  return admin(url, async (client) => {
    const result = await client.query<{ server_version: string }>('SHOW server_version');
    return result.rows[0]?.server_version ?? 'unknown';
  });
}
