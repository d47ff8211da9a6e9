import { PLATFORMS } from '@runner-planner/core';
import type { Database } from '@runner-planner/database';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticator, Principal } from '../auth.js';
import { HubClosedError, type PressureHub, selectPressure } from '../pressure-hub.js';
import { PressureStream } from '../pressure-stream.js';
import {
  compareBytes,
  FLAVOR_NOT_FOUND,
  refuseOtherMethods,
  rejectEmptySegment,
  sendJson,
  sendText,
} from '../respond.js';
import type { StreamRegistry } from '../stream-registry.js';
import { readPlatformScope, streamRequested } from '../wire.js';

/** The flavor name that stands for every flavor of every platform. */
export const ALL_FLAVORS = '_';

export interface PressureRouteOptions {
  db: Database;
  auth: Authenticator;
  hub: PressureHub;
  /** Caps streams per token and in all; ends the streams of revoked tokens. */
  streams: StreamRegistry;
  heartbeatMs: number;
  /** PRESSURE_STREAM_MAX_AGE: each stream ends after this long less up to a tenth (undefined: never). */
  maxAgeMs?: number;
  /** PRESSURE_STREAMS_PER_TOKEN and PRESSURE_STREAMS_MAX, named in refusals. */
  perToken: number;
  total: number;
}

/** Seconds a refused stream request is told to wait (Retry-After). */
const RETRY_TOKEN_FULL_SECONDS = 30;
const RETRY_PLANNER_FULL_SECONDS = 10;

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
 * `GET /api/v1/flavors/{name}/pressure` → `{"<name>": n}` (any platform: names are unique);
 * `_` → every flavor of one platform, GitHub unless `?platform=` names another or `all`, as the
 * original answered for GitHub only; unknown → 404. Every answer past authentication carries the
 * original's `Cache-Control: no-cache`. With `?stream=true`: the same JSON as NDJSON lines (see
 * PressureStream and PressureHub), at most `perToken` streams per token (429 above) and `total`
 * in all (503), each ending after its lifetime or as soon as its token is deleted.
 */
export async function pressureRoutes(app: FastifyInstance, options: PressureRouteOptions): Promise<void> {
  const { db, auth, hub, streams, heartbeatMs } = options;

  app.get<{ Params: NameParams }>(
    '/api/v1/flavors/:name/pressure',
    { onRequest: [rejectEmptySegment, auth.requireAuth()] },
    async (request, reply) => {
      const { name } = request.params;
      reply.header('cache-control', 'no-cache');
      const platform = name === ALL_FLAVORS ? readPlatformScope(request.query) : undefined;
      if (streamRequested(request.query)) return openStream(request, reply, name, platform);
      const pressures = await readPressures(db, name, platform);
      if (Object.keys(pressures).length === 0) return sendText(reply, 404, FLAVOR_NOT_FOUND);
      return sendJson(reply, 200, pressures);
    },
  );
  refuseOtherMethods(app, '/api/v1/flavors/:name/pressure', ['GET']);

  async function openStream(
    request: FastifyRequest,
    reply: FastifyReply,
    name: string,
    platform: string | undefined,
  ) {
    if (hub.closed) return sendText(reply, 503, 'the planner is shutting down');
    const principal = request.principal as Principal;
    const all = name === ALL_FLAVORS;
    const stream = new PressureStream(reply.raw, {
      select: (snapshot) => selectPressure(snapshot, name, all, platform),
      heartbeatMs,
      ...(options.maxAgeMs === undefined ? {} : { maxAgeMs: lifetime(options.maxAgeMs) }),
      onClose: (closed) => {
        hub.leave(closed);
        streams.release(closed);
      },
    });
    const refusal = streams.admit(principal, stream);
    if (refusal === 'token') {
      return sendText(
        reply.header('retry-after', String(RETRY_TOKEN_FULL_SECONDS)),
        429,
        `too many pressure streams for this token: at most ${options.perToken} at once`,
      );
    }
    if (refusal === 'total') {
      return sendText(
        reply.header('retry-after', String(RETRY_PLANNER_FULL_SECONDS)),
        503,
        `too many pressure streams open on this planner (at most ${options.total}), retry later`,
      );
    }
    let first: Record<string, number> | undefined;
    try {
      // A token deleted since it was checked: its revocation may have come before we listened.
      if (!(await streams.confirm(principal))) {
        stream.end();
        return sendText(reply.header('www-authenticate', 'Bearer'), 401, 'unauthorized');
      }
      first = selectPressure(await hub.join(stream), name, all, platform);
    } catch (err) {
      if (stream.clientGone) return reply.hijack();
      stream.end();
      if (err instanceof HubClosedError) return sendText(reply, 503, err.message);
      request.log.error({ err }, 'pressure stream could not start');
      return sendText(reply, 503, 'pressure is not available right now, retry later');
    }
    // From here on nothing is awaited until the stream is started, so no snapshot can slip by.
    if (stream.clientGone) return reply.hijack();
    if (stream.closed) {
      // Ended before it started: its token was revoked meanwhile.
      hub.leave(stream);
      return sendText(reply.header('www-authenticate', 'Bearer'), 401, 'unauthorized');
    }
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

/**
 * A stream's lifetime: the maximum less a random tenth, so that streams opened together (after
 * a planner restart) do not all end and reconnect together.
 */
function lifetime(maxAgeMs: number): number {
  return Math.round(maxAgeMs * (1 - Math.random() / 10));
}

/**
 * Current pressure of one flavor of any platform (empty when unknown) or, for `_`, of every
 * flavor of `platform` (`all`: of every platform), in Go's map key order.
 */
export async function readPressures(
  db: Database,
  name: string,
  platform = 'all',
): Promise<Record<string, number>> {
  const names = name === ALL_FLAVORS ? [] : [name];
  const platforms = name === ALL_FLAVORS && platform !== 'all' ? [platform] : PLATFORMS;
  const byPlatform = await Promise.all(platforms.map((each) => db.getPressures(each, ...names)));
  const entries = byPlatform.flatMap((pressures) => Object.entries(pressures));
  entries.sort(([a], [b]) => compareBytes(a, b));
  return Object.fromEntries(entries);
}
