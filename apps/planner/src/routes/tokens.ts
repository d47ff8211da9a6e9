import { InvalidInputError, isTokenScope, TOKEN_SCOPES, type TokenScope } from '@runner-planner/core';
import { type Database, ExistError } from '@runner-planner/database';
import type { FastifyInstance } from 'fastify';
import { type Authenticator, encodeGeneralToken } from '../auth.js';
import { PayloadError, refuseOtherMethods, rejectEmptySegment, sendJson, sendText } from '../respond.js';
import type { StreamRegistry } from '../stream-registry.js';
import { field, jsonObject } from '../wire.js';

export interface TokenRouteOptions {
  db: Database;
  auth: Authenticator;
  /** The open pressure streams, of which a deleted token's are ended. */
  streams: StreamRegistry;
}

/**
 * The scope asked for in a token's creation body: `{"scope": "read-only"}`. No body (what the
 * original's clients send), no `scope` or `null` is `general`, today's rights.
 */
function readScope(body: unknown): TokenScope {
  if (body === undefined || (typeof body === 'string' && body.trim() === '')) return 'general';
  const scope = field(jsonObject(body), 'scope') ?? 'general';
  if (!isTokenScope(scope)) throw new PayloadError(`scope must be one of ${TOKEN_SCOPES.join(', ')}`);
  return scope;
}

interface NameParams {
  name: string;
}

/**
 * General API tokens, managed with the admin token only. The token itself is shown once, at
 * creation; `{"scope": "read-only"}` in the body makes one that only reads. Deleting a token ends
 * its pressure streams at once (on every planner: see StreamRegistry).
 */
export async function tokenRoutes(app: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  const { db, auth, streams } = options;
  const adminOnly = { onRequest: auth.requireAuth({ adminOnly: true }) };
  // An empty {name} matches no pattern of the original's mux: answered before authentication.
  const adminOnlyNamed = { onRequest: [rejectEmptySegment, auth.requireAuth({ adminOnly: true })] };

  app.post<{ Params: NameParams }>('/api/v1/auth/token/:name', adminOnlyNamed, async (request, reply) => {
    const { name } = request.params;
    const scope = readScope(request.body);
    let token: Uint8Array;
    try {
      token = await db.createAuthToken(name, { scope });
    } catch (err) {
      if (err instanceof ExistError) return sendText(reply, 409, 'token already exists');
      if (err instanceof InvalidInputError) {
        // A name of spaces only: refused where the original would store it.
        if (name.trim() === '') return sendText(reply, 400, 'missing token name');
        // Too long, or control characters (which would reach terminals listing tokens).
        return sendText(reply, 400, `invalid token name: ${err.problems.join('; ')}`);
      }
      throw err;
    }
    // The token is shown this once: no cache may keep the answer.
    return sendJson(reply.header('cache-control', 'no-store'), 201, {
      name,
      token: encodeGeneralToken(token),
    });
  });
  refuseOtherMethods(app, '/api/v1/auth/token/:name', ['DELETE', 'POST']);

  app.get('/api/v1/auth/token', adminOnly, async (_request, reply) =>
    sendJson(reply, 200, { names: await db.listAuthTokens() }),
  );
  refuseOtherMethods(app, '/api/v1/auth/token', ['GET']);

  // Deleting a token that does not exist succeeds too.
  app.delete<{ Params: NameParams }>('/api/v1/auth/token/:name', adminOnlyNamed, async (request, reply) => {
    const { name } = request.params;
    try {
      await db.deleteAuthToken(name);
    } catch (err) {
      // A name of spaces only, which no stored token has.
      if (!(err instanceof InvalidInputError)) throw err;
    }
    // This planner's streams at once; other planners' when the deletion's notification arrives.
    streams.revoke(name);
    return reply.code(204).send();
  });
}
