import { explanationToJson, type Job, NEVER_RECORDED } from '@runner-planner/core';
import { type Database, InvalidInputError, NotExistError } from '@runner-planner/database';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Authenticator } from '../auth.js';
import { JOB_NOT_FOUND, refuseOtherMethods, rejectEmptySegment, sendJson, sendText } from '../respond.js';
import { isKnownPlatformName, jobToV1Json, PLATFORM_CHOICES, readJobQuery, readJobUpdate } from '../wire.js';

export interface JobRouteOptions {
  db: Database;
  auth: Authenticator;
}

interface PlatformParams {
  platform: string;
}

interface JobParams extends PlatformParams {
  id: string;
}

/**
 * Jobs as recorded from webhooks: list, read, set start/completion times by hand, and explain
 * why a job is (not) counted. The v1 routes take any platform as the original did: one it never
 * recorded has no jobs (`[]`, or 404 `job not found`). Lists leave each job's `raw` payloads out
 * unless `raw=true` asks for them (then 100 jobs at most); a single job always has them.
 */
export async function jobRoutes(app: FastifyInstance, options: JobRouteOptions): Promise<void> {
  const { db, auth } = options;
  const anyToken = { onRequest: auth.requireAuth() };
  // An empty segment matches no pattern of the original's mux: answered before authentication.
  const anyTokenNamed = { onRequest: [rejectEmptySegment, auth.requireAuth()] };
  // Setting timestamps changes pressure: refused to read-only tokens.
  const writerNamed = { onRequest: [rejectEmptySegment, auth.requireAuth({ write: true })] };

  app.get<{ Params: PlatformParams }>('/api/v1/jobs/:platform', anyTokenNamed, async (request, reply) => {
    const { platform } = request.params;
    const query = readJobQuery(request.query);
    let jobs: Job[] = [];
    try {
      jobs = await db.listJobs(platform, {
        onlyNotCompleted: query.onlyNotCompleted,
        limit: query.limit,
        ...(query.withId === undefined ? {} : { withId: query.withId }),
        ...(query.createdAfter === undefined ? {} : { createdAfter: query.createdAfter }),
      });
    } catch (err) {
      // A platform of spaces only, which no job has.
      if (!(err instanceof InvalidInputError)) throw err;
    }
    return sendJson(
      reply,
      200,
      jobs.map((job) => jobToV1Json(job, { raw: query.raw })),
    );
  });
  refuseOtherMethods(app, '/api/v1/jobs/:platform', ['GET']);

  app.get<{ Params: JobParams }>('/api/v1/jobs/:platform/:id', anyTokenNamed, async (request, reply) => {
    const { platform, id } = request.params;
    const job = await findJob(db, platform, id);
    if (job === undefined) return sendText(reply, 404, JOB_NOT_FOUND);
    return sendJson(reply, 200, jobToV1Json(job));
  });

  // The job is looked up before the body is read, in the original's order. A timestamp already
  // set is never moved (events may arrive late and twice): asking to set it again is refused,
  // naming the field, before anything is written (the original wrote the fields it could first).
  app.patch<{ Params: JobParams }>('/api/v1/jobs/:platform/:id', writerNamed, async (request, reply) => {
    const { platform, id } = request.params;
    const job = await findJob(db, platform, id);
    if (job === undefined) return sendText(reply, 404, JOB_NOT_FOUND);
    const update = readJobUpdate(request.body);
    if (update.startedAt !== undefined && job.startedAt !== null) {
      return sendText(reply, 400, 'field is already set: cannot update started_at');
    }
    if (update.completedAt !== undefined && job.completedAt !== null) {
      return sendText(reply, 400, 'field is already set: cannot update completed_at');
    }
    try {
      if (update.startedAt !== undefined) await db.updateJobStarted(platform, id, update.startedAt);
      if (update.completedAt !== undefined) await db.updateJobCompleted(platform, id, update.completedAt);
    } catch (err) {
      if (err instanceof NotExistError) return sendText(reply, 404, JOB_NOT_FOUND);
      throw err;
    }
    return reply.code(204).send();
  });
  refuseOtherMethods(app, '/api/v1/jobs/:platform/:id', ['GET', 'PATCH']);

  // Outside /api/v1: v1 stays the original planner's API, which clients are written against.
  app.get<{ Params: JobParams }>('/api/jobs/:platform/:id/why', anyToken, async (request, reply) => {
    const { platform, id } = request.params;
    if (!isKnownPlatformName(platform)) return unknownPlatform(reply, platform);
    try {
      return explanationToJson(await db.explainJob(platform, id));
    } catch (err) {
      // An empty id is refused as bad input, and is no job anyone recorded either.
      if (err instanceof NotExistError || err instanceof InvalidInputError) {
        return sendText(reply, 404, `job ${platform}/${id} not found: ${NEVER_RECORDED}`);
      }
      throw err;
    }
  });
}

async function findJob(db: Database, platform: string, id: string): Promise<Job | undefined> {
  try {
    const [job] = await db.listJobs(platform, { withId: id, limit: 1 });
    return job;
  } catch (err) {
    // A platform or id of spaces only, which no job has.
    if (err instanceof InvalidInputError) return undefined;
    throw err;
  }
}

function unknownPlatform(reply: FastifyReply, platform: string): FastifyReply {
  return sendText(
    reply,
    404,
    `unknown platform ${JSON.stringify(platform)}: must be one of ${PLATFORM_CHOICES}`,
  );
}
