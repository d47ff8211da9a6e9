import { PLATFORMS } from '@runner-planner/core';
import type { Database } from '@runner-planner/database';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator } from '../auth.js';
import { HubClosedError, type PressureHub, selectPressure } from '../pressure-hub.js';
import { PressureStream } from '../pressure-stream.js';
import { FLAVOR_NOT_FOUND, sendText } from '../respond.js';
import { queryFlag } from '../wire.js';

/** The flavor name that stands for every flavor of every platform. */
export const ALL_FLAVORS = '_';

export interface PressureRouteOptions {
  db: Database;
  auth: Authenticator;
  hub: PressureHub;
  heartbeatMs: number;
}

interface NameParams {
  name: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** True for a `?stream=true` response taken over by a pressure stream. */
    pressureStream: boolean;
  }
}

/**
 * `GET /api/v1/flavors/{name}/pressure` → `{"<name>": n}`; `_` → every flavor; unknown → 404.
 * With `?stream=true`: the same JSON as NDJSON lines (see PressureStream and PressureHub).
 */
export async function pressureRoutes(app: FastifyInstance, options: PressureRouteOptions): Promise<void> {
  const { db, auth, hub, heartbeatMs } = options;

  app.get<{ Params: NameParams }>(
    '/api/v1/flavors/:name/pressure',
    { onRequest: auth.requireAuth() },
    async (request, reply) => {
      const { name } = request.params;
      if (queryFlag(request.query, 'stream')) return openStream(request, reply, name);
      const pressures = await readPressures(db, name);
      if (Object.keys(pressures).length === 0) return sendText(reply, 404, FLAVOR_NOT_FOUND);
      return pressures;
    },
  );

  async function openStream(request: FastifyRequest, reply: FastifyReply, name: string) {
    if (hub.closed) return sendText(reply, 503, 'the planner is shutting down');
    const all = name === ALL_FLAVORS;
    const stream = new PressureStream(reply.raw, {
      select: (snapshot) => selectPressure(snapshot, name, all),
      heartbeatMs,
      onClose: (closed) => hub.leave(closed),
    });
    let first: Record<string, number> | undefined;
    try {
      first = selectPressure(await hub.join(stream), name, all);
    } catch (err) {
      if (stream.clientGone) return reply.hijack();
      stream.end();
      if (err instanceof HubClosedError) return sendText(reply, 503, err.message);
      request.log.error({ err }, 'pressure stream could not start');
      return sendText(reply, 503, 'pressure is not available right now, retry later');
    }
    // From here on nothing is awaited until the stream is started, so no snapshot can slip by.
    if (stream.clientGone) return reply.hijack();
    if (first === undefined) {
      stream.end();
      return sendText(reply, 404, FLAVOR_NOT_FOUND);
    }
    request.pressureStream = true;
    reply.hijack();
    stream.start(first);
    request.log.debug({ flavor: name, streams: hub.size }, 'pressure stream opened');
    return reply;
  }
}

/** Current pressure of one flavor (empty when unknown) or, for `_`, of every flavor in name order. */
export async function readPressures(db: Database, name: string): Promise<Record<string, number>> {
  const names = name === ALL_FLAVORS ? [] : [name];
  const byPlatform = await Promise.all(PLATFORMS.map((platform) => db.getPressures(platform, ...names)));
  const entries = byPlatform.flatMap((pressures) => Object.entries(pressures));
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries);
}
