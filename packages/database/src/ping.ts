import pg from 'pg';

/**
 * Connects to `url` and runs `SELECT 1`, or rejects with the driver's error: a check that the
 * server answers, before a command starts anything that needs it.
 */
export async function pingDatabase(url: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A connection lost mid-check rejects the pending connect() or query() too: that is the report.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    // Ending a client that never connected can fail as well; the first error is the one to tell.
    await client.end().catch(() => {});
  }
}
