import { readFileSync } from 'node:fs';
import type { JobEvent } from '@runner-planner/core';
import { Database, migrate } from '@runner-planner/database';
import { openTestSql, type TestSql } from '@runner-planner/database/testing';
import type { Envelope } from '@runner-planner/queue';
import { createTestDatabase } from '@runner-planner/testkit';
import { afterAll, beforeAll, beforeEach } from 'vitest';

export interface WorkerFixture {
  url: string;
  db: Database;
  sql: TestSql;
}

export function useDatabase(label: string): WorkerFixture {
  const fixture = {} as WorkerFixture;
  let drop = async () => {};
  beforeAll(async () => {
    const created = await createTestDatabase(label);
    drop = created.drop;
    fixture.url = created.url;
    await migrate(created.url);
    fixture.db = await Database.connect(created.url);
    fixture.sql = openTestSql(created.url);
  });
  beforeEach(async () => {
    await fixture.sql.reset();
  });
  afterAll(async () => {
    await fixture.db?.close();
    await fixture.sql?.end();
    await drop();
  });
  return fixture;
}

/** The row as a user sees it, minus the flavor choice (random among equal priorities). */
export async function storedJob(db: Database, platform: string, id: string) {
  const [row] = await db.listJobs(platform, { withId: id });
  if (row === undefined) return undefined;
  const { assignedFlavor, ...rest } = row;
  return { ...rest, assigned: assignedFlavor !== null };
}

const gitlabFixture = new URL('../../../test/fixtures/gitlab/job-hook-docs-example.json', import.meta.url);

/** The GitLab documentation's Job Hook example, with fields overridden. */
export function gitlabJobHook(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...JSON.parse(readFileSync(gitlabFixture, 'utf8')), ...overrides };
}

/**
 * An hour ago, to the second: the time test jobs are created at. Jobs must be recent, or they
 * fall out of the 5-day staleness window as the calendar moves on and stop counting.
 */
export const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

/** T0 plus `minutes`, as the ISO text webhooks carry. */
export function minutesAfterT0(minutes: number): string {
  return new Date(T0 + minutes * 60_000).toISOString();
}

export function githubWorkflowJob(
  action: 'queued' | 'in_progress' | 'completed' | 'waiting',
  job: {
    id: number;
    labels?: string[];
    createdAt?: string;
    startedAt?: string | null;
    completedAt?: string | null;
  },
) {
  return {
    action,
    workflow_job: {
      id: job.id,
      run_id: 1,
      status: action === 'waiting' ? 'waiting' : action,
      conclusion: action === 'completed' ? 'success' : null,
      labels: job.labels ?? ['self-hosted', 'linux', 'x64'],
      created_at: job.createdAt ?? minutesAfterT0(0),
      started_at: job.startedAt ?? minutesAfterT0(0),
      completed_at: action === 'completed' ? (job.completedAt ?? minutesAfterT0(5)) : null,
      name: 'build',
    },
    repository: { full_name: 'octo/repo' },
  };
}

/** A queued webhook as the gateway enqueues it: a fresh delivery id, received now unless overridden. */
export function webhookEnvelope(
  platform: Envelope['platform'],
  body: unknown,
  overrides: Partial<Envelope> = {},
): Envelope {
  return {
    platform,
    deliveryId: `d-${Math.random()}`,
    event: platform === 'github' ? 'workflow_job' : 'Job Hook',
    receivedAt: new Date().toISOString(),
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...overrides,
  };
}

export type { JobEvent };
