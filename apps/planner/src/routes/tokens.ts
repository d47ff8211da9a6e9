import { InvalidInputError } from '@runner-planner/core';
import { type Database, ExistError } from '@runner-planner/database';
import type { FastifyInstance } from 'fastify';
import { type Authenticator, encodeGeneralToken } from '../auth.js';
import { sendText } from '../respond.js';

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

  app.post<{ Params: NameParams }>('/api/v1/auth/token/:name', adminOnly, async (request, reply) => {
    const { name } = request.params;
    let token: Uint8Array;
    try {
      token = await db.createAuthToken(name);
    } catch (err) {
      if (err instanceof ExistError) return sendText(reply, 409, 'token already exists');
      if (err instanceof InvalidInputError) return sendText(reply, 400, 'missing token name');
      throw err;
    }
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ name, token: encodeGeneralToken(token) });
  });

  app.get('/api/v1/auth/token', adminOnly, async () => ({ names: await db.listAuthTokens() }));

  // Deleting a token that does not exist succeeds too.
  app.delete<{ Params: NameParams }>('/api/v1/auth/token/:name', adminOnly, async (request, reply) => {
    const { name } = request.params;
    if (name === '') return sendText(reply, 400, 'missing token name');
    await db.deleteAuthToken(name);
    return reply.code(204).send();
  });
}
