import { InvalidInputError } from '@runner-planner/core';
import { type Database, ExistError } from '@runner-planner/database';
import type { FastifyInstance } from 'fastify';
import { type Authenticator, encodeGeneralToken } from '../auth.js';
import { refuseOtherMethods, rejectEmptySegment, sendJson, sendText } from '../respond.js';

export interface TokenRouteOptions {
  db: Database;
  auth: Authenticator;
}

interface NameParams {
  name: string;
}

/** General API tokens, managed with the admin token only. The token itself is shown once, at creation. */
export async function tokenRoutes(app: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  const { db, auth } = options;
  const adminOnly = { onRequest: auth.requireAuth({ adminOnly: true }) };
  // An empty {name} matches no pattern of the original's mux: answered before authentication.
  const adminOnlyNamed = { onRequest: [rejectEmptySegment, auth.requireAuth({ adminOnly: true })] };

  app.post<{ Params: NameParams }>('/api/v1/auth/token/:name', adminOnlyNamed, async (request, reply) => {
    const { name } = request.params;
    let token: Uint8Array;
    try {
      token = await db.createAuthToken(name);
    } catch (err) {
      if (err instanceof ExistError) return sendText(reply, 409, 'token already exists');
      // A name of spaces only: refused where the original would store it.
      if (err instanceof InvalidInputError) return sendText(reply, 400, 'missing token name');
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
    return reply.code(204).send();
  });
}
