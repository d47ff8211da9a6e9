import { type Flavor, InvalidInputError } from '@runner-planner/core';
import { type Database, ExistError, NotExistError } from '@runner-planner/database';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth.js';
import { FLAVOR_NOT_FOUND, PayloadError, sendText } from '../respond.js';
import { flavorToJson, readDisabledPayload, readFlavorPayload } from '../wire.js';

export interface FlavorRouteOptions {
  db: Database;
  auth: Authenticator;
}

interface NameParams {
  name: string;
}

/** Flavors: list (admin), create, read, enable/disable, delete. */
export async function flavorRoutes(app: FastifyInstance, options: FlavorRouteOptions): Promise<void> {
  const { db, auth } = options;
  const anyToken = { onRequest: auth.requireAuth() };
  const adminOnly = { onRequest: auth.requireAuth({ adminOnly: true }) };

  app.get('/api/v1/flavors', adminOnly, async () => {
    return (await db.listAllFlavors())
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(flavorToJson);
  });

  app.post<{ Params: NameParams }>('/api/v1/flavors/:name', anyToken, async (request, reply) => {
    const flavor = readFlavorPayload(request.params.name, request.body);
    try {
      await db.addFlavor(flavor);
    } catch (err) {
      if (err instanceof ExistError) return sendText(reply, 409, 'flavor already exists');
      if (err instanceof InvalidInputError) throw new PayloadError(err.problems.join('; '));
      throw err;
    }
    return reply.code(201).send();
  });

  app.get<{ Params: NameParams }>('/api/v1/flavors/:name', anyToken, async (request, reply) => {
    const flavor = await findFlavor(db, request.params.name);
    if (flavor === undefined) return sendText(reply, 404, FLAVOR_NOT_FOUND);
    return flavorToJson(flavor);
  });

  // Only `is_disabled` is read: clients send the whole flavor back with the flag changed.
  app.patch<{ Params: NameParams }>('/api/v1/flavors/:name', anyToken, async (request, reply) => {
    const disabled = readDisabledPayload(request.body);
    const flavor = await findFlavor(db, request.params.name);
    if (flavor === undefined) return sendText(reply, 404, FLAVOR_NOT_FOUND);
    try {
      if (disabled) await db.disableFlavor(flavor.platform, flavor.name);
      else await db.enableFlavor(flavor.platform, flavor.name);
    } catch (err) {
      // Deleted between the lookup and the change.
      if (err instanceof NotExistError) return sendText(reply, 404, FLAVOR_NOT_FOUND);
      throw err;
    }
    return reply.code(204).send();
  });

  // Deleting a flavor that does not exist succeeds too: the outcome the caller wanted holds.
  app.delete<{ Params: NameParams }>('/api/v1/flavors/:name', anyToken, async (request, reply) => {
    const flavor = await findFlavor(db, request.params.name);
    if (flavor !== undefined) await db.deleteFlavor(flavor.platform, flavor.name);
    return reply.code(200).send();
  });
}

/** The flavor of that name, or undefined (also for names no flavor can have, such as `_`). */
export async function findFlavor(db: Database, name: string): Promise<Flavor | undefined> {
  try {
    return await db.getFlavor(name);
  } catch (err) {
    if (err instanceof NotExistError || err instanceof InvalidInputError) return undefined;
    throw err;
  }
}
