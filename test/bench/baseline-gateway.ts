// The gateway benchmark's baseline, run as its own process: the least a webhook receiver can do.
// node:http, read the body, check X-Hub-Signature-256 (HMAC-SHA256, constant-time compare),
// one RPUSH of the body to Redis, answer 202.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { Redis } from 'ioredis';

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} must be set`);
  return value;
}

const port = Number(setting('BASELINE_PORT'));
const secret = setting('GITHUB_WEBHOOK_SECRET');
const listKey = setting('BASELINE_LIST_KEY');
const BODY_LIMIT = 1024 * 1024;
const PATH = '/webhooks/github';

const redis = new Redis(setting('REDIS_URL'), { maxRetriesPerRequest: 1 });

function answer(response: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

function signatureMatches(body: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const server = createServer((request, response) => {
  if (request.method === 'GET' && request.url === '/health') return answer(response, 200, { status: 'ok' });
  if (request.method !== 'POST' || request.url !== PATH) return answer(response, 404, { error: 'not found' });
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  request.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > BODY_LIMIT) tooLarge = true;
    else chunks.push(chunk);
  });
  request.on('end', () => {
    if (tooLarge) return answer(response, 413, { error: 'body too large' });
    const body = Buffer.concat(chunks);
    if (!signatureMatches(body, request.headers['x-hub-signature-256'])) {
      return answer(response, 401, { error: 'bad signature' });
    }
    redis.rpush(listKey, body).then(
      () => answer(response, 202, { result: 'enqueued' }),
      () => answer(response, 503, { error: 'queue unavailable' }),
    );
  });
});

await new Promise<void>((resolve) => redis.once('ready', resolve));
server.listen(port, '127.0.0.1');

const stop = () => {
  server.close();
  server.closeAllConnections();
  redis.disconnect();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
