import { type Flavor, InvalidInputError } from '@runner-planner/core';
import { type Database, ExistError, NotExistError } from '@runner-planner/database';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth.js';
import { PayloadError, refuseOtherMethods, rejectEmptySegment, sendJson, sendText } from '../respond.js';
import {
  ALL_PLATFORMS,
  flavorToJson,
  readDisabledPayload,
  readFlavorPayload,
  readPlatformScope,
} from '../wire.js';
import { ALL_FLAVORS } from './pressure.js';

export interface FlavorRouteOptions {
  db: Database;
  auth: Authenticator;
}

interface NameParams {
  name: string;
}

/**
 * Flavors: list (admin), create, read, enable/disable, delete, answered as the original's
 * `internal/planner/server.go` did. The list is of one platform, GitHub unless `?platform=`
 * says otherwise; a single flavor is addressed by its name, which is unique across platforms.
 */
export async function flavorRoutes(app: FastifyInstance, options: FlavorRouteOptions): Promise<void> {
  const { db, auth } = options;
  // An empty {name} matches no pattern of the original's mux: answered before authentication.
  const anyToken = { onRequest: [rejectEmptySegment, auth.requireAuth()] };
  // Changes: refused to read-only tokens.
  const writer = { onRequest: [rejectEmptySegment, auth.requireAuth({ write: true })] };

  app.get('/api/v1/flavors', { onRequest: auth.requireAuth({ adminOnly: true }) }, async (request, reply) => {
    const platform = readPlatformScope(request.query);
    const flavors = platform === ALL_PLATFORMS ? await db.listAllFlavors() : await db.listFlavors(platform);
    return sendJson(reply, 200, flavors.map(flavorToJson));
  });
  refuseOtherMethods(app, '/api/v1/flavors', ['GET']);

  app.post<{ Params: NameParams }>('/api/v1/flavors/:name', writer, async (request, reply) => {
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
    const { name } = request.params;
    if (name === ALL_FLAVORS) return sendText(reply, 400, 'get all flavors is not supported');
    const flavor = await findFlavor(db, name);
    if (flavor === undefined) return sendText(reply, 404, 'cannot get flavor');
    return sendJson(reply, 200, flavorToJson(flavor));
  });

  // Only `is_disabled` is read: clients send the whole flavor back. The body is checked before
  // the name, in the original's order.
  app.patch<{ Params: NameParams }>('/api/v1/flavors/:name', writer, async (request, reply) => {
    const disabled = readDisabledPayload(request.body);
    const { name } = request.params;
    if (name === ALL_FLAVORS) return sendText(reply, 400, 'update all flavors is not supported');
    const flavor = await findFlavor(db, name);
    if (flavor === undefined) return sendText(reply, 404, 'cannot find flavor to update');
    try {
      if (disabled) await db.disableFlavor(flavor.platform, flavor.name);
      else await db.enableFlavor(flavor.platform, flavor.name);
    } catch (err) {
      // Deleted between the lookup and the change.
      if (err instanceof NotExistError) return sendText(reply, 404, 'cannot find flavor to update');
      throw err;
    }
    return reply.code(204).send();
  });

  // Deleting a flavor that does not exist succeeds too: the outcome the caller wanted holds.
  app.delete<{ Params: NameParams }>('/api/v1/flavors/:name', writer, async (request, reply) => {
    const { name } = request.params;
    if (name === ALL_FLAVORS) return sendText(reply, 400, 'delete all flavors is not supported');
    const flavor = await findFlavor(db, name);
    if (flavor !== undefined) await db.deleteFlavor(flavor.platform, flavor.name);
    return reply.code(200).send();
  });
  refuseOtherMethods(app, '/api/v1/flavors/:name', ['DELETE', 'GET', 'PATCH', 'POST']);
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
