import { posix } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * An error answer as the original planner (Go's `http.Error`) wrote it: the message and a
 * newline as plain text. Clients of the v1 API match on these texts.
 */
export function sendText(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .send(`${message}\n`);
}

/**
 * JSON as Go's `json.Encoder` writes it (the original's `respondWithJSON`): `<`, `>`, `&`,
 * U+2028 and U+2029 escaped, and a newline after the value. Key order is the caller's: Go sorts
 * map keys (`sortKeys`), and writes struct fields in declaration order (our shapes list them so).
 */
export function goJson(value: unknown): string {
  return `${JSON.stringify(value).replace(GO_ESCAPED, (char) => GO_ESCAPES[char] ?? char)}\n`;
}

const GO_ESCAPED = /[<>&\u2028\u2029]/g;
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** A JSON answer with the original's `Content-Type: application/json` (no charset) and body. */
export function sendJson(reply: FastifyReply, status: number, value: unknown): FastifyReply {
  // A Buffer, so that Fastify sends the header as set rather than appending a charset.
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .send(Buffer.from(goJson(value)));
}

/** Go orders map keys by their UTF-8 bytes; JavaScript's `<` compares UTF-16 code units. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A copy of a JSON value with every object's keys in Go's map order, as `json.Marshal` writes a map. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compareBytes(a, b));
  return Object.fromEntries(entries.map(([key, inner]) => [key, sortKeys(inner)]));
}

/** Go's `ServeMux` answer to a path no pattern matches, which clients of the original may match on. */
export const PAGE_NOT_FOUND = '404 page not found';

/**
 * The answer to a request whose path leaves a `{name}` segment empty, which no pattern of the
 * original's `ServeMux` matches: a 301 to the cleaned path when it has `//` (as the mux redirects
 * unclean paths), else its 404. Sent before authentication, as the mux routes before any handler.
 */
export function sendEmptySegment(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const raw = request.raw.url ?? request.url;
  const query = raw.indexOf('?');
  const path = query === -1 ? raw : raw.slice(0, query);
  const cleaned = cleanPath(path);
  if (cleaned === path) return sendText(reply, 404, PAGE_NOT_FOUND);
  const rawQuery = query === -1 ? '' : raw.slice(query + 1);
  const location = rawQuery === '' ? cleaned : `${cleaned}?${rawQuery}`;
  reply.code(301).header('location', location);
  if (request.method === 'GET' || request.method === 'HEAD') {
    reply.header('content-type', 'text/html; charset=utf-8');
  }
  // Go's http.Redirect writes a body for GET only.
  return reply.send(
    request.method === 'GET' ? `<a href="${escapeHtml(location)}">Moved Permanently</a>.\n\n` : '',
  );
}

/** `onRequest` hook, before authentication: a route param left empty gets `sendEmptySegment`. */
export async function rejectEmptySegment(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (hasEmptyParam(request)) await sendEmptySegment(request, reply);
}

function hasEmptyParam(request: FastifyRequest): boolean {
  const params = request.params as Record<string, string> | undefined;
  return params !== undefined && Object.values(params).some((value) => value === '');
}

/** Go's `cleanPath`: `path.Clean` (no `//`, `.`, `..`), keeping a trailing slash. */
export function cleanPath(path: string): string {
  if (path === '') return '/';
  const rooted = path.startsWith('/') ? path : `/${path}`;
  let cleaned = posix.normalize(rooted);
  if (cleaned.length > 1 && cleaned.endsWith('/')) cleaned = cleaned.slice(0, -1);
  if (rooted.endsWith('/') && cleaned !== '/') cleaned += '/';
  return cleaned;
}

function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&#34;')
    .replaceAll("'", '&#39;');
}

/** Every method Fastify routes; a v1 path answers 405 to those it does not serve. */
const ROUTED_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const;
type RoutedMethod = (typeof ROUTED_METHODS)[number];

/**
 * Answers the methods a path does not serve as Go's `ServeMux` does: 405 `Method Not Allowed`
 * with `Allow` listing the served ones, sorted, `HEAD` included wherever `GET` is. Registered
 * without authentication, since the mux answers before any handler runs.
 */
export function refuseOtherMethods(
  app: {
    route(options: {
      method: RoutedMethod[];
      url: string;
      handler: (request: FastifyRequest, reply: FastifyReply) => unknown;
    }): unknown;
  },
  url: string,
  served: readonly RoutedMethod[],
): void {
  const allowed = new Set<string>(served);
  if (allowed.has('GET')) allowed.add('HEAD');
  const allow = [...allowed].sort().join(', ');
  const refused = ROUTED_METHODS.filter((method) => !allowed.has(method));
  app.route({
    method: refused,
    url,
    handler: (request, reply) =>
      hasEmptyParam(request)
        ? sendEmptySegment(request, reply)
        : sendText(reply.header('allow', allow), 405, 'Method Not Allowed'),
  });
}

/** Thrown by request parsing and route code; the error handler answers with `sendText`. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request body that cannot be used: answered 400 `invalid payload: <why>`, as the original did. */
export class PayloadError extends HttpError {
  constructor(problem: string) {
    super(400, `invalid payload: ${problem}`);
  }
}

export const JOB_NOT_FOUND = 'job not found';
/** `GET /api/v1/flavors/{name}/pressure` of a flavor that does not exist. */
export const FLAVOR_NOT_FOUND = 'flavor not found';
