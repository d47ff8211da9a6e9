// The baseline: a bare node:http server answering GET /api/v1/flavors/<name>/pressure with the
// planner's own pressure SQL (a prepared statement through a bare pg pool per platform, like the
// planner) and JSON.stringify; no framework, no ORM, no metrics, no logging.
import http from 'node:http';
import { openTestSql } from '@runner-planner/database/testing';

const PLATFORMS = ['github', 'gitlab'];
const ROUTE = /^\/api\/v1\/flavors\/([^/?]+)\/pressure$/;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const port = Number(env('PORT'));
const expectedAuth = `Bearer ${env('TOKEN')}`;
const staleAfterMs = Number(env('STALE_AFTER_MS'));
const pool = openTestSql(env('DATABASE_URL'), { max: Number(env('POOL_SIZE')) });

async function pressures(name: string): Promise<Record<string, number>> {
  const names = name === '_' ? null : [name];
  const results = await Promise.all(
    PLATFORMS.map((platform) => pool.selectPressures(platform, names, staleAfterMs)),
  );
  const entries = results.flatMap((rows) => rows.map((row): [string, number] => [row.name, row.pressure]));
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}

function reply(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const path = req.url?.split('?')[0] ?? '';
  if (path === '/health') return reply(res, 200, 'application/json', '{"status":"ok"}');
  const match = ROUTE.exec(path);
  if (req.method !== 'GET' || match === null) return reply(res, 404, 'text/plain', '404 page not found\n');
  if (req.headers.authorization !== expectedAuth) return reply(res, 401, 'text/plain', 'unauthorized\n');
  pressures(decodeURIComponent(match[1] ?? '')).then(
    (value) => {
      if (Object.keys(value).length === 0) return reply(res, 404, 'text/plain', 'flavor not found\n');
      // The planner answers as the original's Go encoder does, newline included: same bytes on both sides.
      reply(res, 200, 'application/json', `${JSON.stringify(value)}\n`);
    },
    () => reply(res, 500, 'text/plain', 'internal error\n'),
  );
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1');

const stop = () => {
  server.close();
  server.closeAllConnections();
  void pool.end().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
