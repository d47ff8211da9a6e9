import type { FastifyInstance } from 'fastify';

/**
 * Makes every body in this plugin scope arrive as the exact text received, whatever its
 * content type: signatures are computed over those bytes, and the worker parses them.
 */
export function keepRawBody(scope: FastifyInstance): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    done(null, body);
  });
}
