import { explanationToJson, NEVER_RECORDED } from '@runner-planner/core';
import { type Database, InvalidInputError, NotExistError } from '@runner-planner/database';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Authenticator } from '../auth.js';
import { JOB_NOT_FOUND, sendText } from '../respond.js';
import { isKnownPlatformName, jobToJson, PLATFORM_CHOICES, readJobQuery, readJobUpdate } from '../wire.js';

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
 * why a job is (not) counted.
 */
export async function jobRoutes(app: FastifyInstance, options: JobRouteOptions): Promise<void> {
  const { db, auth } = options;
  const anyToken = { onRequest: auth.requireAuth() };

  app.get<{ Params: PlatformParams }>('/api/v1/jobs/:platform', anyToken, async (request, reply) => {
    const { platform } = request.params;
    if (!isKnownPlatformName(platform)) return unknownPlatform(reply, platform);
    const query = readJobQuery(request.query);
    const jobs = await db.listJobs(platform, {
      onlyNotCompleted: query.onlyNotCompleted,
      limit: query.limit,
      ...(query.withId === undefined ? {} : { withId: query.withId }),
      ...(query.createdAfter === undefined ? {} : { createdAfter: query.createdAfter }),
    });
    return jobs.map(jobToJson);
  });

  app.get<{ Params: JobParams }>('/api/v1/jobs/:platform/:id', anyToken, async (request, reply) => {
    const { platform, id } = request.params;
    if (!isKnownPlatformName(platform)) return unknownPlatform(reply, platform);
    const job = await findJob(db, platform, id);
    if (job === undefined) return sendText(reply, 404, JOB_NOT_FOUND);
    return jobToJson(job);
  });

  // A timestamp already set is never moved (events may arrive late and twice): asking to set it
  // again is refused, naming the field, rather than silently ignored.
  app.patch<{ Params: JobParams }>('/api/v1/jobs/:platform/:id', anyToken, async (request, reply) => {
    const { platform, id } = request.params;
    if (!isKnownPlatformName(platform)) return unknownPlatform(reply, platform);
    const update = readJobUpdate(request.body);
    const job = await findJob(db, platform, id);
    if (job === undefined) return sendText(reply, 404, JOB_NOT_FOUND);
    const alreadySet = [
      update.startedAt !== undefined && job.startedAt !== null ? 'started_at' : undefined,
      update.completedAt !== undefined && job.completedAt !== null ? 'completed_at' : undefined,
    ].filter((field) => field !== undefined);
    if (alreadySet.length > 0) {
      const verb = alreadySet.length > 1 ? 'are' : 'is';
      return sendText(reply, 400, `${alreadySet.join(' and ')} ${verb} already set`);
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

async function findJob(db: Database, platform: string, id: string) {
  if (id === '') return undefined;
  const [job] = await db.listJobs(platform, { withId: id, limit: 1 });
  return job;
}

function unknownPlatform(reply: FastifyReply, platform: string): FastifyReply {
  return sendText(
    reply,
    404,
    `unknown platform ${JSON.stringify(platform)}: must be one of ${PLATFORM_CHOICES}`,
  );
}
