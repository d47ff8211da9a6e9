import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Flavor } from '@runner-planner/core';
import type { Envelope } from '@runner-planner/queue';

/** A deterministic pseudo-random generator (mulberry32), so every run sends the same events. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The webhook secret every side of every benchmark is configured with. */
export const BENCH_SECRET = 'runner-planner-bench-secret';

/** `X-Hub-Signature-256` as GitHub computes it: HMAC-SHA256 of the exact body. */
export function sign(body: string): string {
  return `sha256=${createHmac('sha256', BENCH_SECRET).update(body).digest('hex')}`;
}

export type GitHubAction = 'queued' | 'in_progress' | 'completed';

interface Example {
  action: string;
  workflow_job: Record<string, unknown>;
  [key: string]: unknown;
}

/** The first @octokit/webhooks-examples payload of each tracked action: real GitHub payloads of 7–10 KB. */
function templates(): Record<GitHubAction, Example> {
  const all = createRequire(import.meta.url)('@octokit/webhooks-examples') as {
    name: string;
    examples: Example[];
  }[];
  const examples = all.find((entry) => entry.name === 'workflow_job')?.examples ?? [];
  const first = (action: GitHubAction) => {
    const found = examples.find((example) => example.action === action);
    if (found === undefined)
      throw new Error(`no workflow_job ${action} example in @octokit/webhooks-examples`);
    return found;
  };
  return { queued: first('queued'), in_progress: first('in_progress'), completed: first('completed') };
}

const TEMPLATES = templates();

const ARCHES = ['x64', 'arm64'];
const SYSTEMS = ['jammy', 'noble'];
const SIZES = ['small', 'medium', 'large', 'xlarge', 'gpu'];

/** Up to 20 GitHub flavors, one per arch × system × size, e.g. `x64-jammy-large` with those 3 labels. */
export function benchFlavors(count: number): Flavor[] {
  const flavors: Flavor[] = [];
  for (const size of SIZES) {
    for (const arch of ARCHES) {
      for (const system of SYSTEMS) {
        flavors.push({
          platform: 'github',
          name: `${arch}-${system}-${size}`,
          labels: [arch, system, size],
          priority: 0,
          isDisabled: false,
          minimumPressure: 0,
        });
      }
    }
  }
  if (count > flavors.length) throw new Error(`at most ${flavors.length} flavors`);
  return flavors.slice(0, count);
}

/** One webhook to send: the job, the action, and when it happens relative to the first event. */
export interface BenchEvent {
  /** GitHub `workflow_job.id`. */
  jobId: number;
  action: GitHubAction;
  labels: string[];
  /** Seconds after the first job's `queued`. */
  at: number;
}

export interface SequenceOptions {
  jobs: number;
  /** Events wanted; the latest events (by `at`) beyond that are left out. */
  events: number;
  flavors: readonly Flavor[];
  /** New jobs per second; a job starts 0.5–1.5 s after it is queued and completes 1–4 s after that. */
  jobsPerSecond: number;
  /** Makes the job ids of different runs and benchmarks distinct. */
  firstJobId: number;
  seed: number;
}

/**
 * Jobs as GitHub reports them: each queued, then in progress, then completed, interleaved with
 * the other jobs by time. Labels are `self-hosted`, `linux` and a flavor's labels (one in ten
 * jobs asks only for arch and size, which two flavors cover); busy flavors are picked more often.
 */
export function eventSequence(options: SequenceOptions): BenchEvent[] {
  const random = seededRandom(options.seed);
  const events: BenchEvent[] = [];
  for (let job = 0; job < options.jobs; job++) {
    // Squaring skews the choice toward the first flavors: some busy, some nearly idle.
    const flavor = options.flavors[Math.floor(random() ** 2 * options.flavors.length)];
    if (flavor === undefined) throw new Error('no flavors');
    const [arch, system, size] = flavor.labels as [string, string, string];
    const wanted = random() < 0.1 ? [arch, size] : [arch, system, size];
    const labels = ['self-hosted', 'linux', ...wanted];
    const jobId = options.firstJobId + job;
    const queued = job / options.jobsPerSecond;
    const started = queued + 0.5 + random();
    const completed = started + 1 + 3 * random();
    events.push(
      { jobId, action: 'queued', labels, at: queued },
      { jobId, action: 'in_progress', labels, at: started },
      { jobId, action: 'completed', labels, at: completed },
    );
  }
  events.sort((a, b) => a.at - b.at);
  return events.slice(0, options.events);
}

/** The `workflow_job` body GitHub would send for the event, from the example of its action. */
export function webhookBody(event: BenchEvent, epochMs: number): string {
  const template = TEMPLATES[event.action];
  const time = (seconds: number) => new Date(epochMs + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
  const createdAt = time(Math.floor(event.at));
  return JSON.stringify({
    ...template,
    action: event.action,
    workflow_job: {
      ...template.workflow_job,
      id: event.jobId,
      labels: event.labels,
      status: event.action,
      created_at: createdAt,
      started_at: event.action === 'queued' ? createdAt : time(event.at),
      completed_at: event.action === 'completed' ? time(event.at) : null,
      conclusion: event.action === 'completed' ? 'success' : null,
    },
  });
}

/** What the gateway would enqueue for the event (the worker benchmark fills the queue with these). */
export function envelopeOf(body: string): Envelope {
  const deliveryId = randomUUID();
  return {
    platform: 'github',
    deliveryId,
    event: 'workflow_job',
    receivedAt: new Date().toISOString(),
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'workflow_job',
      'x-github-delivery': deliveryId,
    },
    body,
  };
}

export interface SignedRequest {
  body: string;
  signature: string;
}

export function signedRequest(body: string): SignedRequest {
  return { body, signature: sign(body) };
}
