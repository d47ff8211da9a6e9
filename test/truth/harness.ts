/**
 * Plays a simulated scenario through the running system: every webhook the forges send goes to
 * the gateway (some lost, some twice, in any order within a step), the worker records them, a
 * reconcile pass looks every incomplete job up on the fake forges (which answer from the
 * simulator) and has GitHub redeliver what was lost; then each flavor's pressure must equal the
 * simulator's count of the jobs waiting for or running on it.
 */
import { randomUUID } from 'node:crypto';
import type { Flavor } from '@runner-planner/core';
import type { Job } from '@runner-planner/database';
import { openTestSql, type TestSql } from '@runner-planner/database/testing';
import { type FakeGitHub, startFakeGitHub } from '@runner-planner/testkit';
import {
  createGitHubClient,
  createReconcileMetrics,
  createWorkerMetrics,
  type GitHubClient,
  GitLabJobLookup,
  type ReconcileMetrics,
  type ReconcileReport,
  reconcileOnce,
} from '@runner-planner/worker';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type System, useSystem } from '../support/system.js';
import { sendGitHub, sendGitLab } from '../support/webhooks.js';
import {
  bestFlavor,
  expectedPressures,
  type IdSource,
  isDemand,
  type JobTruth,
  type Scenario,
  type Step,
  scenarioFlavors,
  simulate,
  type Webhook,
} from './model.js';
import { GITHUB_REPOSITORY, githubApiJob, gitlabApiJob, payloadOf } from './payloads.js';

const DAY_MS = 86_400_000;
const PROJECT_ID = 4242;
const [OWNER, REPO] = GITHUB_REPOSITORY.split('/') as [string, string];

export interface TruthWorld {
  system: System;
  gatewayUrl: string;
  github: FakeGitHub;
  sql: TestSql;
  redis: Redis;
  metrics: ReconcileMetrics;
  githubClient: GitHubClient;
  gitlabLookup: GitLabJobLookup;
}

/** The running system of one test file (its own database and queue prefix) and the fake forges. */
export function useTruthWorld(label: string): TruthWorld {
  const system = useSystem(label);
  const world = { system } as TruthWorld;
  beforeAll(async () => {
    const gateway = await system.start('gateway');
    // The worker's own scheduled pass would take the reconcile lock; ours run on demand.
    await system.start('worker', { RECONCILE_INTERVAL: '1d' });
    world.gatewayUrl = gateway.url;
    world.github = await startFakeGitHub();
    world.sql = openTestSql(system.databaseUrl);
    world.redis = new Redis(system.redisUrl, { maxRetriesPerRequest: 3 });
    world.metrics = createReconcileMetrics(createWorkerMetrics().registry);
    world.githubClient = createGitHubClient({ baseUrl: world.github.url, token: world.github.token });
    world.gitlabLookup = new GitLabJobLookup({ url: system.gitlab.url, token: system.gitlab.token });
  });
  afterAll(async () => {
    await world.github?.close();
    await world.sql?.end();
    world.redis?.disconnect();
  });
  return world;
}

export interface TruthStats {
  scenarios: number;
  checkpoints: number;
  jobs: { github: number; gitlab: number };
  /** Webhooks the forges sent. */
  webhooks: number;
  /** Webhooks lost on the way (GitHub ones are failed deliveries until redelivered). */
  dropped: { github: number; gitlab: number };
  /** Extra copies sent (with the same or a new delivery id). */
  duplicated: number;
  /** GitHub deliveries reconciliation had redelivered. */
  redelivered: number;
  /** Checks where a GitLab job that waits or runs was left out because none of its hooks arrived. */
  invisible: number;
  /** Distinct such jobs. */
  invisibleJobs: number;
  /** Checks where a job waits or runs on a flavor (what the pressures add up to). */
  countedJobs: number;
  /** Forge lookups of the reconcile passes, and what they wrote (held = a job held again). */
  reconcileChecked: number;
  reconcileCorrected: Record<string, number>;
}

export function emptyStats(): TruthStats {
  return {
    scenarios: 0,
    checkpoints: 0,
    jobs: { github: 0, gitlab: 0 },
    webhooks: 0,
    dropped: { github: 0, gitlab: 0 },
    duplicated: 0,
    redelivered: 0,
    invisible: 0,
    invisibleJobs: 0,
    countedJobs: 0,
    reconcileChecked: 0,
    reconcileCorrected: {},
  };
}

/** Fresh ids for every run, shrinking runs included, so no two runs share a job. */
const ids: IdSource = { gitlabJob: 1_000_000, gitlabPipeline: 1, githubJob: 5_000_000_000, githubRun: 1 };
let nextHookId = 1;

/** mulberry32: a small seeded generator, so a scenario's delivery decisions repeat. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Waits until the queue has nothing waiting, running or scheduled for a retry; no dead letters. */
export async function drained(queue: Queue, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
    if ((counts.failed ?? 0) > 0) {
      const [failed] = await queue.getFailed(0, 0);
      throw new Error(`a webhook was dead-lettered: ${failed?.failedReason} (${failed?.id})`);
    }
    if (Object.values(counts).every((n) => n === 0)) return;
    if (Date.now() > deadline)
      throw new Error(`queue not drained after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Send {
  webhook: Webhook;
  /** X-GitHub-Delivery / X-Gitlab-Event-UUID. */
  deliveryId: string;
}

function describeHook(webhook: Webhook): string {
  return webhook.platform === 'gitlab'
    ? `gitlab ${webhook.job.id} ${webhook.job.status}`
    : `github ${webhook.job.id} ${webhook.action}${webhook.action === 'queued' ? ` (status ${webhook.job.status === 'waiting' ? 'waiting' : 'queued'})` : ''}`;
}

export interface ScenarioOptions {
  skipPending: boolean;
}

/**
 * Runs one scenario through the system; throws with the scenario's story and the per-flavor
 * difference at the first check where a pressure differs from the truth.
 */
export async function runScenario(
  world: TruthWorld,
  scenario: Scenario,
  stats: TruthStats,
  options: ScenarioOptions,
): Promise<void> {
  const { system, github } = world;
  await drained(system.queue);
  await world.sql.reset();
  const flavors = scenarioFlavors(scenario);
  for (const flavor of flavors) await system.db.addFlavor(flavor);

  const timeline = simulate(scenario, {
    ids,
    t0: Date.now(),
    projectId: PROJECT_ID,
    skipPending: options.skipPending,
  });
  const hookId = nextHookId++;
  const hookOwner = `repos/${GITHUB_REPOSITORY}`;
  let hookUsed = false;
  const random = seeded(scenario.delivery.seed);
  const arrived = new Set<string>();
  const invisible = new Set<string>();
  const failedDeliveries = new Map<number, Send>();
  let redeliveriesSeen = github.redeliveries.length;
  const story: string[] = [`flavors: ${JSON.stringify(flavors.map(describeFlavor))}`];

  const send = async (item: Send, why: string) => {
    const payload = payloadOf(item.webhook);
    const response =
      item.webhook.platform === 'gitlab'
        ? await sendGitLab(world.gatewayUrl, payload, { delivery: item.deliveryId })
        : await sendGitHub(world.gatewayUrl, payload, { delivery: item.deliveryId });
    if (response.status !== 202) {
      throw new Error(
        `gateway answered ${response.status} to ${describeHook(item.webhook)}: ${await response.text()}`,
      );
    }
    if (item.webhook.platform === 'gitlab') arrived.add(String(item.webhook.job.id));
    story.push(`    → ${why} ${describeHook(item.webhook)} [${item.deliveryId.slice(0, 8)}]`);
  };

  for (const step of timeline.steps) {
    stats.checkpoints += 1;
    story.push(`step ${step.index}:`, ...step.events.map((event) => `  ${event}`));
    // The forges' APIs answer with the state at the end of the step.
    for (const job of step.gitlabJobs) system.gitlab.setJob(job.projectId, gitlabApiJob(job));
    for (const job of step.githubJobs) github.setJob(GITHUB_REPOSITORY, githubApiJob(job));

    const sends: Send[] = [];
    for (const webhook of step.webhooks) {
      stats.webhooks += 1;
      const deliveryId = randomUUID();
      const dropped = random() * 100 < scenario.delivery.dropPercent;
      if (webhook.platform === 'github') {
        hookUsed = true;
        const delivery = github.addDelivery(hookOwner, hookId, {
          guid: deliveryId,
          action: webhook.action,
          ...(dropped ? { status: 'Invalid HTTP Response: 503', status_code: 503 } : { status_code: 202 }),
        });
        if (dropped) failedDeliveries.set(delivery.id, { webhook, deliveryId });
      }
      if (dropped) {
        stats.dropped[webhook.platform] += 1;
        story.push(`    ✗ lost ${describeHook(webhook)}`);
        continue;
      }
      sends.push({ webhook, deliveryId });
      if (random() * 100 < scenario.delivery.duplicatePercent) {
        stats.duplicated += 1;
        const again = random() < 0.5 ? deliveryId : randomUUID();
        if (webhook.platform === 'github' && again !== deliveryId) {
          github.addDelivery(hookOwner, hookId, { guid: again, action: webhook.action, status_code: 202 });
        }
        sends.push({ webhook, deliveryId: again });
      }
    }
    // Any order within the step (Fisher–Yates with the scenario's generator).
    for (let i = sends.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [sends[i], sends[j]] = [sends[j] as Send, sends[i] as Send];
    }
    for (const item of sends) await send(item, 'sent');
    await drained(system.queue);

    const report = await reconcile(world, hookUsed ? hookId : undefined);
    stats.reconcileChecked += report.stale.checked;
    for (const [change, n] of Object.entries(report.stale.corrected)) {
      stats.reconcileCorrected[change] = (stats.reconcileCorrected[change] ?? 0) + n;
    }
    story.push(
      `    reconcile: checked ${report.stale.checked}, corrected ${JSON.stringify(report.stale.corrected)}, redelivery asked ${report.redelivery.redelivered}`,
    );
    // GitHub redelivers what reconciliation asked for, with the original delivery id.
    const asked = github.redeliveries.slice(redeliveriesSeen);
    redeliveriesSeen = github.redeliveries.length;
    for (const id of asked) {
      const original = failedDeliveries.get(id);
      if (original === undefined)
        throw new Error(`reconciliation redelivered delivery ${id}, which never failed`);
      failedDeliveries.delete(id);
      stats.redelivered += 1;
      await send(original, 'redelivered');
    }
    if (asked.length > 0) await drained(system.queue);

    const excluded = new Set<string>();
    for (const job of step.truth) {
      if (job.platform === 'gitlab' && isDemand(job) && !arrived.has(job.id)) {
        excluded.add(`gitlab/${job.id}`);
        invisible.add(job.id);
        stats.invisible += 1;
      }
    }
    // Left out only because the system cannot know them: none of their hooks reached it.
    for (const key of excluded) {
      const [platform, id] = key.split('/') as [string, string];
      if ((await system.db.listJobs(platform, { withId: id })).length > 0) {
        throw new Error(`${key} is stored although none of its hooks was delivered`);
      }
    }
    const expected = expectedPressures(step.truth, flavors, excluded);
    stats.countedJobs += Object.values({ ...expected.github, ...expected.gitlab }).reduce(
      (sum, n) => sum + n,
      0,
    );
    const actual = {
      gitlab: await system.db.getPressures('gitlab'),
      github: await system.db.getPressures('github'),
    };
    const differences = pressureDifferences(expected, actual);
    if (differences.length > 0) {
      const rows = await storedJobs(world);
      throw new Error(
        [
          `pressure differs from the truth after step ${step.index}:`,
          ...differences.map((line) => `  ${line}`),
          'jobs (truth | stored):',
          ...jobLines(step, flavors, excluded, rows),
          'scenario:',
          ...story,
        ].join('\n'),
      );
    }
  }
  if (failedDeliveries.size > 0) {
    throw new Error(`GitHub deliveries never redelivered: ${[...failedDeliveries.keys()].join(', ')}`);
  }
  const last = timeline.steps.at(-1);
  for (const job of last?.truth ?? []) stats.jobs[job.platform] += 1;
  stats.invisibleJobs += invisible.size;
  stats.scenarios += 1;
}

/** One reconcile pass, as the worker's scheduler runs it, at a time when every job is stale. */
async function reconcile(world: TruthWorld, hookId: number | undefined): Promise<ReconcileReport> {
  for (let attempt = 0; ; attempt++) {
    const report = await reconcileOnce({
      db: world.system.db,
      redis: world.redis,
      prefix: world.system.prefix,
      metrics: world.metrics,
      github: world.githubClient,
      githubHooks: hookId === undefined ? [] : [{ kind: 'repo', owner: OWNER, repo: REPO, hookId }],
      gitlab: world.gitlabLookup,
      // A week ahead: every incomplete job (held ones too) is due for a lookup, and the look-back
      // (3 intervals) still covers the deliveries made just now.
      now: () => new Date(Date.now() + 7 * DAY_MS),
      intervalMs: 7 * DAY_MS,
      staleAfterMs: DAY_MS,
      heldAfterMs: DAY_MS,
      batchSize: 100,
    });
    if (report.ran) {
      if (report.stale.errors > 0 || report.redelivery.errors > 0 || report.stale.skipped > 0) {
        throw new Error(`reconcile pass failed: ${JSON.stringify(report)}`);
      }
      return report;
    }
    if (attempt > 200) throw new Error('the reconcile lock stayed taken');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function describeFlavor(flavor: Flavor): string {
  const untagged = flavor.runUntagged === undefined ? '' : ` runUntagged=${flavor.runUntagged}`;
  return `${flavor.name} ${JSON.stringify(flavor.labels)} prio ${flavor.priority}${flavor.isDisabled ? ' disabled' : ''}${untagged}`;
}

function pressureDifferences(
  expected: Record<'github' | 'gitlab', Record<string, number>>,
  actual: Record<'github' | 'gitlab', Record<string, number>>,
): string[] {
  const lines: string[] = [];
  for (const platform of ['gitlab', 'github'] as const) {
    const names = new Set([...Object.keys(expected[platform]), ...Object.keys(actual[platform])]);
    for (const name of [...names].sort()) {
      const want = expected[platform][name];
      const got = actual[platform][name];
      if (want !== got)
        lines.push(`${platform} flavor ${name}: truth ${want ?? 'absent'}, pressure ${got ?? 'absent'}`);
    }
  }
  return lines;
}

async function storedJobs(world: TruthWorld): Promise<Map<string, Job>> {
  const rows = new Map<string, Job>();
  for (const platform of ['gitlab', 'github']) {
    for (const job of await world.system.db.listJobs(platform, { limit: 10_000 })) {
      rows.set(`${platform}/${job.id}`, job);
    }
  }
  return rows;
}

function jobLines(step: Step, flavors: Flavor[], excluded: Set<string>, rows: Map<string, Job>): string[] {
  return step.truth.map((job: JobTruth) => {
    const key = `${job.platform}/${job.id}`;
    const flavor = isDemand(job) && !excluded.has(key) ? (bestFlavor(flavors, job)?.name ?? null) : null;
    const row = rows.get(key);
    const stored =
      row === undefined
        ? 'not stored'
        : `${row.held ? 'held' : row.completedAt ? 'completed' : row.startedAt ? 'started' : 'waiting'}, flavor ${row.assignedFlavor}`;
    const storedFlavor = row && !row.held && row.completedAt === null ? row.assignedFlavor : null;
    const mark = storedFlavor === flavor ? '  ' : '!!';
    const note = excluded.has(key) ? ' (no hook arrived: left out)' : '';
    return `${mark} ${key} ${job.status} (${job.phase}) → ${flavor ?? 'counts nowhere'}${note} | ${stored}`;
  });
}
