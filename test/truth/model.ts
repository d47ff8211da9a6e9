/**
 * A pure simulator of GitLab pipelines and GitHub workflows (no I/O): it steps both forges as
 * they run, emits exactly the webhooks each forge sends for each transition, and keeps every
 * job's true status. README.md in this folder lists each rule with its source.
 *
 * The truth tables below are written here from the forges' documentation and the brief's truth
 * model, not imported from @runner-planner/core: the simulator is what the system is checked
 * against, so it must not share the system's tables (model.test.ts checks that they agree).
 */
import type { Flavor } from '@runner-planner/core';
import { candidateFlavors } from '@runner-planner/core/reference-model';

export type Phase = 'held' | 'waiting' | 'running' | 'ended';

export const GITLAB_STATUSES = [
  'created',
  'manual',
  'scheduled',
  'waiting_for_resource',
  'preparing',
  'skipped',
  'pending',
  'running',
  'canceling',
  'success',
  'failed',
  'canceled',
] as const;
export type GitLabStatus = (typeof GITLAB_STATUSES)[number];

/** What each GitLab job status means for an autoscaler (the truth model). */
export const GITLAB_PHASE: Readonly<Record<GitLabStatus, Phase>> = {
  created: 'held',
  manual: 'held',
  scheduled: 'held',
  waiting_for_resource: 'held',
  preparing: 'held',
  skipped: 'held',
  pending: 'waiting',
  running: 'running',
  canceling: 'running',
  success: 'ended',
  failed: 'ended',
  canceled: 'ended',
};

export type GitHubStatus = 'waiting' | 'queued' | 'in_progress' | 'completed';

/** What each GitHub workflow job status means (for a job that asks for a self-hosted runner). */
export const GITHUB_PHASE: Readonly<Record<GitHubStatus, Phase>> = {
  waiting: 'held',
  queued: 'waiting',
  in_progress: 'running',
  completed: 'ended',
};

/** Labels every self-hosted GitHub runner has: asking for them says nothing about the flavor. */
const GITHUB_IMPLICIT = new Set(['self-hosted', 'linux']);

// ---------------------------------------------------------------------------------------------
// Scenario: what fast-check generates.

export interface FlavorSpec {
  labels: string[];
  /** Distinct within a platform, so every job has at most one best flavor. */
  priority: number;
  /** GitLab only; absent → GitLab's default (true without labels, false with). */
  runUntagged?: boolean;
  disabled: boolean;
}

export interface GitLabJobSpec {
  /** 0, 1 or 2. */
  stage: number;
  when: 'on_success' | 'manual' | 'delayed';
  resourceGroup: string | null;
  /** Goes through `preparing` before `pending` (GitLab's prerequisites, e.g. a Kubernetes namespace). */
  prepare: boolean;
  /** The job's `tags`; empty → an untagged job. */
  tags: string[];
  /**
   * `needs`: indexes of other jobs of the pipeline (only stage-0 `on_success` jobs are kept, so
   * the DAG has no doubtful cases); null → the job waits for every earlier stage.
   */
  needs: number[] | null;
  /** Steps the `created` hook comes late (newer GitLab sends it after later statuses); 0 → at once. */
  createdHookDelay: number;
}

export interface PipelineSpec {
  /** The step at which the pipeline is created (clamped to the last step). */
  start: number;
  jobs: GitLabJobSpec[];
}

export interface GitHubJobSpec {
  /** The labels that pick the flavor (case as written in the workflow). */
  labels: string[];
  /** `runs-on` includes `self-hosted`; without it the system ignores the job. */
  selfHosted: boolean;
  /** Adds GitHub's implicit `linux` label. */
  linux: boolean;
  /** Deploys to an environment with required reviewers: held until approved. */
  gated: boolean;
}

export interface WorkflowSpec {
  start: number;
  jobs: GitHubJobSpec[];
}

export interface DeliverySpec {
  /** Seeds the delivery decisions (drops, duplicates, order). */
  seed: number;
  /** Share of webhooks lost, 0–20. */
  dropPercent: number;
  /** Share of delivered webhooks sent twice, 0–20. */
  duplicatePercent: number;
}

export interface Scenario {
  flavors: { gitlab: FlavorSpec[]; github: FlavorSpec[] };
  pipelines: PipelineSpec[];
  workflows: WorkflowSpec[];
  /** One list per step: each number picks one of the forge events possible at that moment. */
  steps: number[][];
  delivery: DeliverySpec;
}

export interface SimulationOptions {
  /** First ids to use; each run gets fresh ones so scenarios never share a job. */
  ids: IdSource;
  /** The forges' clock at the first event (ms). */
  t0: number;
  projectId: number;
  /**
   * Whether GitLab may skip a `pending` job when an earlier stage of its pipeline failed (the
   * state machine's `skip` event allows it from `pending`; the brief lists it).
   */
  skipPending: boolean;
}

export interface IdSource {
  gitlabJob: number;
  gitlabPipeline: number;
  githubJob: number;
  githubRun: number;
}

// ---------------------------------------------------------------------------------------------
// Output.

export interface GitLabJobState {
  id: number;
  projectId: number;
  pipelineId: number;
  name: string;
  stage: number;
  tags: string[];
  status: GitLabStatus;
  allowFailure: boolean;
  retries: number;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface GitHubJobState {
  id: number;
  runId: number;
  attempt: number;
  name: string;
  /** As the payload carries them (`self-hosted`, `linux` included when asked for). */
  labels: string[];
  selfHosted: boolean;
  gated: boolean;
  status: GitHubStatus;
  conclusion: 'success' | 'failure' | 'cancelled' | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  /** The runner that took it; null for a job that never started. */
  runner: { id: number; name: string } | null;
}

export type Webhook =
  | { platform: 'gitlab'; job: GitLabJobState }
  | {
      platform: 'github';
      action: 'queued' | 'waiting' | 'in_progress' | 'completed';
      job: GitHubJobState;
    };

/** A job as the forge knows it at the end of a step, with what it means for pressure. */
export interface JobTruth {
  platform: 'github' | 'gitlab';
  id: string;
  status: string;
  /** `ignored`: a GitHub job without `self-hosted`, never demand for our flavors. */
  phase: Phase | 'ignored';
  /** The labels a flavor must cover (GitHub's implicit ones stripped). */
  labels: string[];
}

export interface Step {
  index: number;
  /** What happened on the forges, in order, for a failure report. */
  events: string[];
  /** Every webhook the forges sent during the step, in the order sent. */
  webhooks: Webhook[];
  gitlabJobs: GitLabJobState[];
  githubJobs: GitHubJobState[];
  truth: JobTruth[];
}

export interface Timeline {
  steps: Step[];
}

// ---------------------------------------------------------------------------------------------
// Flavors and the truth per flavor.

export function scenarioFlavors(scenario: Scenario): Flavor[] {
  const make = (platform: 'github' | 'gitlab', spec: FlavorSpec, index: number): Flavor => ({
    platform,
    name: `${platform === 'github' ? 'gh' : 'gl'}-${index}`,
    labels: spec.labels,
    priority: spec.priority,
    isDisabled: spec.disabled,
    minimumPressure: 0,
    ...(platform === 'gitlab' && spec.runUntagged !== undefined ? { runUntagged: spec.runUntagged } : {}),
  });
  return [
    ...scenario.flavors.gitlab.map((spec, i) => make('gitlab', spec, i)),
    ...scenario.flavors.github.map((spec, i) => make('github', spec, i)),
  ];
}

/** The one flavor a job that waits or runs belongs to; null when no enabled flavor fits it. */
export function bestFlavor(flavors: readonly Flavor[], job: Pick<JobTruth, 'platform' | 'labels'>) {
  const candidates = candidateFlavors(flavors, {
    platform: job.platform,
    labels: job.labels,
    completedAt: null,
    held: false,
  });
  if (candidates.length > 1) {
    throw new Error(`flavors ${candidates.map((f) => f.name).join(', ')} tie: priorities must differ`);
  }
  return candidates[0] ?? null;
}

export function isDemand(truth: JobTruth): boolean {
  return truth.phase === 'waiting' || truth.phase === 'running';
}

/**
 * Pressure per flavor of each platform: the jobs waiting for or running on it, leaving out the
 * jobs in `excluded` (`platform/id`).
 */
export function expectedPressures(
  truth: readonly JobTruth[],
  flavors: readonly Flavor[],
  excluded: ReadonlySet<string> = new Set(),
): Record<'github' | 'gitlab', Record<string, number>> {
  const result: Record<'github' | 'gitlab', Record<string, number>> = { github: {}, gitlab: {} };
  for (const flavor of flavors) result[flavor.platform as 'github' | 'gitlab'][flavor.name] = 0;
  for (const job of truth) {
    if (!isDemand(job) || excluded.has(`${job.platform}/${job.id}`)) continue;
    const flavor = bestFlavor(flavors, job);
    if (flavor !== null) result[job.platform][flavor.name] = (result[job.platform][flavor.name] ?? 0) + 1;
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The simulator.

interface GitLabJob {
  state: GitLabJobState;
  spec: GitLabJobSpec;
  pipeline: Pipeline;
  /** Index of the spec in the pipeline: a retry has the same index. */
  index: number;
  /** Superseded by a retry. */
  retried: boolean;
  /** Step at which the late `created` hook goes out; null once sent. */
  createdHookDue: number | null;
  /** The job as it was created: a late `created` hook carries what GitLab built at creation. */
  asCreated: GitLabJobState;
}

interface Pipeline {
  id: number;
  specs: GitLabJobSpec[];
  jobs: GitLabJob[];
}

interface GitHubJob {
  state: GitHubJobState;
  spec: GitHubJobSpec;
  /** Superseded by a re-run. */
  rerun: boolean;
}

export interface ForgeEvent {
  describe: string;
  apply: () => void;
  /** How likely the event is next, relative to the others possible (progress beats cancellation). */
  weight: number;
}

/** Picks the event a generated number stands for: each event owns `weight` consecutive numbers. */
function pick(events: readonly ForgeEvent[], choice: number): ForgeEvent {
  const total = events.reduce((sum, event) => sum + event.weight, 0);
  let rest = choice % total;
  for (const event of events) {
    if (rest < event.weight) return event;
    rest -= event.weight;
  }
  return events.at(-1) as ForgeEvent;
}

const SETTLED_GITLAB: ReadonlySet<GitLabStatus> = new Set(['success', 'failed', 'canceled', 'skipped']);
const FAILED_GITLAB: ReadonlySet<GitLabStatus> = new Set(['failed', 'canceled']);
/** Statuses that hold a resource group's resource. */
const HOLDS_RESOURCE: ReadonlySet<GitLabStatus> = new Set(['preparing', 'pending', 'running', 'canceling']);
/** Statuses a pipeline cancellation ends at once (a running job goes to `canceling`). */
const CANCELABLE: ReadonlySet<GitLabStatus> = new Set([
  'created',
  'pending',
  'manual',
  'scheduled',
  'waiting_for_resource',
  'preparing',
]);
const MAX_RETRIES = 2;
const MAX_ATTEMPTS = 3;
const STAGE_NAMES = ['build', 'test', 'deploy'];

/**
 * Both forges, stepped from outside: `simulate` drives it from a scenario, unit tests pick
 * events by name. Each forge event runs GitLab's pipeline processing after it.
 */
export class Forges {
  private readonly pipelines: Pipeline[] = [];
  private readonly gitlabJobs: GitLabJob[] = [];
  private readonly githubJobs: GitHubJob[] = [];
  private tick = 0;
  private step = 0;
  private events: string[] = [];
  private webhooks: Webhook[] = [];

  constructor(
    private readonly flavors: readonly Flavor[],
    private readonly options: SimulationOptions,
  ) {}

  /** Starts step `index`: what follows is reported by the next `endStep`. */
  beginStep(index: number): void {
    this.step = index;
    this.events = [];
    this.webhooks = [];
  }

  createPipeline(spec: PipelineSpec): void {
    this.createGitLabPipeline(spec);
    this.processGitLab();
  }

  createWorkflow(spec: WorkflowSpec): void {
    this.createGitHubWorkflow(spec);
  }

  /** The forge events possible now, each with its weight. */
  possible(): readonly ForgeEvent[] {
    return [...this.gitlabEvents(), ...this.githubEvents()];
  }

  perform(event: ForgeEvent): void {
    this.events.push(event.describe);
    event.apply();
    this.processGitLab();
  }

  /** Ends the step: late `created` hooks now due go out (all of them on the last step). */
  endStep(last: boolean): Step {
    this.sendLateCreatedHooks(last);
    return this.snapshot();
  }

  // ------------------------------------------------------------------ clock and output

  private now(): string {
    this.tick += 1;
    return new Date(this.options.t0 + this.tick * 1000).toISOString();
  }

  private snapshot(): Step {
    const gitlabJobs = this.gitlabJobs.map((job) => ({ ...job.state }));
    const githubJobs = this.githubJobs.map((job) => ({ ...job.state, labels: [...job.state.labels] }));
    const truth: JobTruth[] = [
      ...gitlabJobs.map(
        (job): JobTruth => ({
          platform: 'gitlab',
          id: String(job.id),
          status: job.status,
          phase: GITLAB_PHASE[job.status],
          labels: job.tags,
        }),
      ),
      ...this.githubJobs.map(
        (job): JobTruth => ({
          platform: 'github',
          id: String(job.state.id),
          status: job.state.status,
          phase: job.spec.selfHosted ? GITHUB_PHASE[job.state.status] : 'ignored',
          labels: labelsForMatching(job.state.labels),
        }),
      ),
    ];
    return { index: this.step, events: this.events, webhooks: this.webhooks, gitlabJobs, githubJobs, truth };
  }

  // ------------------------------------------------------------------ GitLab

  private gitlabHook(job: GitLabJob): void {
    this.webhooks.push({ platform: 'gitlab', job: { ...job.state } });
  }

  private setGitLab(job: GitLabJob, status: GitLabStatus, hook: boolean): void {
    const from = job.state.status;
    job.state.status = status;
    if (status === 'running') job.state.startedAt = this.now();
    if (GITLAB_PHASE[status] === 'ended') job.state.finishedAt = this.now();
    if (from !== status) {
      this.events.push(`  gitlab ${describeGitLab(job)}: ${from} → ${status}${hook ? ' (hook)' : ''}`);
    }
    if (hook) this.gitlabHook(job);
  }

  private newGitLabJob(pipeline: Pipeline, index: number, retries: number): GitLabJob {
    const spec = pipeline.specs[index] as GitLabJobSpec;
    const state: GitLabJobState = {
      id: this.options.ids.gitlabJob++,
      projectId: this.options.projectId,
      pipelineId: pipeline.id,
      name: `${STAGE_NAMES[spec.stage]}-${index}`,
      stage: spec.stage,
      tags: spec.tags,
      status: 'created',
      allowFailure: spec.when === 'manual',
      retries,
      createdAt: this.now(),
      startedAt: null,
      finishedAt: null,
    };
    const job: GitLabJob = {
      state,
      spec,
      pipeline,
      index,
      retried: false,
      createdHookDue: null,
      asCreated: { ...state },
    };
    pipeline.jobs.push(job);
    this.gitlabJobs.push(job);
    // Every job gets a `created` hook when it is created, newer GitLab possibly late.
    if (spec.createdHookDelay === 0) this.gitlabHook(job);
    else job.createdHookDue = this.step + spec.createdHookDelay;
    return job;
  }

  private sendLateCreatedHooks(lastStep: boolean): void {
    for (const job of this.gitlabJobs) {
      if (job.createdHookDue !== null && (job.createdHookDue <= this.step || lastStep)) {
        job.createdHookDue = null;
        this.events.push(`  gitlab ${describeGitLab(job)}: late created hook`);
        this.webhooks.push({ platform: 'gitlab', job: { ...job.asCreated } });
      }
    }
  }

  private createGitLabPipeline(spec: PipelineSpec): void {
    const pipeline: Pipeline = { id: this.options.ids.gitlabPipeline++, specs: spec.jobs, jobs: [] };
    this.pipelines.push(pipeline);
    this.events.push(`gitlab pipeline ${pipeline.id} created (${spec.jobs.length} jobs)`);
    spec.jobs.forEach((_, index) => {
      const job = this.newGitLabJob(pipeline, index, 0);
      this.events.push(
        `  gitlab ${describeGitLab(job)}: created${job.createdHookDue === null ? ' (hook)' : ''}`,
      );
    });
  }

  private latest(pipeline: Pipeline): GitLabJob[] {
    return pipeline.jobs.filter((job) => !job.retried);
  }

  private latestOf(pipeline: Pipeline, index: number): GitLabJob | undefined {
    return this.latest(pipeline).find((job) => job.index === index);
  }

  /** `needs` kept: stage-0 `on_success` jobs other than the job itself. */
  private needsOf(pipeline: Pipeline, job: GitLabJob): number[] | null {
    if (job.spec.needs === null) return null;
    return [...new Set(job.spec.needs)].filter((index) => {
      const needed = pipeline.specs[index];
      return (
        index !== job.index && needed !== undefined && needed.stage === 0 && needed.when === 'on_success'
      );
    });
  }

  private prerequisites(pipeline: Pipeline, job: GitLabJob): GitLabJob[] {
    const needs = this.needsOf(pipeline, job);
    if (needs !== null) {
      return needs.map((index) => this.latestOf(pipeline, index)).filter((j) => j !== undefined);
    }
    return this.latest(pipeline).filter((other) => other.state.stage < job.state.stage);
  }

  /** Whether `job` no longer holds back the jobs after it; a manual job (allowed to fail) never does. */
  private settled(job: GitLabJob): boolean {
    return (
      SETTLED_GITLAB.has(job.state.status) || (job.spec.when === 'manual' && job.state.status === 'manual')
    );
  }

  private failed(job: GitLabJob): boolean {
    return FAILED_GITLAB.has(job.state.status) && !job.state.allowFailure;
  }

  /**
   * GitLab's pipeline processing (Ci::PipelineProcessing::AtomicProcessingService): each
   * `created` job whose earlier stages (or `needs`) are complete is skipped if one of them failed,
   * else enqueued; then a free resource group hands its resource to its oldest waiting job.
   */
  private processGitLab(): void {
    for (let changed = true; changed; ) {
      changed = false;
      for (const pipeline of this.pipelines) {
        const created = this.latest(pipeline)
          .filter((job) => job.state.status === 'created')
          .sort((a, b) => a.state.stage - b.state.stage || a.state.id - b.state.id);
        for (const job of created) {
          const before = this.prerequisites(pipeline, job);
          if (!before.every((other) => this.settled(other))) continue;
          changed = true;
          if (before.some((other) => this.failed(other))) this.setGitLab(job, 'skipped', false);
          else if (job.spec.when === 'manual') this.setGitLab(job, 'manual', false);
          else if (job.spec.when === 'delayed') this.setGitLab(job, 'scheduled', false);
          else this.enqueue(job);
        }
      }
      const current = this.pipelines.flatMap((pipeline) => this.latest(pipeline));
      const groups = new Set(current.map((job) => job.spec.resourceGroup).filter((group) => group !== null));
      for (const group of groups) {
        const members = current.filter((job) => job.spec.resourceGroup === group);
        if (members.some((job) => HOLDS_RESOURCE.has(job.state.status))) continue;
        const next = members
          .filter((job) => job.state.status === 'waiting_for_resource')
          .sort((a, b) => a.state.id - b.state.id)[0];
        if (next !== undefined) {
          this.acquire(next);
          changed = true;
        }
      }
    }
  }

  /** A job whose turn came (its stage, a manual play, a delayed job's timer). */
  private enqueue(job: GitLabJob): void {
    if (job.spec.resourceGroup !== null) this.setGitLab(job, 'waiting_for_resource', false);
    else this.acquire(job);
  }

  /** Resource (if any) acquired: prepare, or offer to runners. */
  private acquire(job: GitLabJob): void {
    if (job.spec.prepare) this.setGitLab(job, 'preparing', false);
    else this.setGitLab(job, 'pending', true);
  }

  private fitsAFlavor(platform: 'github' | 'gitlab', labels: string[]): boolean {
    return candidateFlavors(this.flavors, { platform, labels, completedAt: null, held: false }).length > 0;
  }

  private gitlabEvents(): ForgeEvent[] {
    const events: ForgeEvent[] = [];
    for (const pipeline of this.pipelines) {
      const current = this.latest(pipeline);
      for (const job of current) {
        const name = `gitlab ${describeGitLab(job)}`;
        switch (job.state.status) {
          case 'pending':
            if (this.fitsAFlavor('gitlab', job.state.tags)) {
              events.push({
                describe: `${name}: a runner takes it`,
                apply: () => this.setGitLab(job, 'running', true),
                weight: 6,
              });
            }
            events.push({
              describe: `${name}: canceled`,
              apply: () => this.setGitLab(job, 'canceled', true),
              weight: 1,
            });
            if (this.options.skipPending && this.earlierStageFailed(pipeline, job)) {
              events.push({
                describe: `${name}: skipped (an earlier stage failed)`,
                apply: () => this.setGitLab(job, 'skipped', false),
                weight: 1,
              });
            }
            break;
          case 'running':
            events.push({
              describe: `${name}: succeeds`,
              apply: () => this.setGitLab(job, 'success', true),
              weight: 4,
            });
            events.push({
              describe: `${name}: fails`,
              apply: () => this.setGitLab(job, 'failed', true),
              weight: 2,
            });
            events.push({
              describe: `${name}: canceled while running`,
              apply: () => this.setGitLab(job, 'canceling', false),
              weight: 1,
            });
            break;
          case 'canceling':
            events.push({
              describe: `${name}: cancellation done`,
              apply: () => this.setGitLab(job, 'canceled', true),
              weight: 3,
            });
            break;
          case 'manual':
            events.push({ describe: `${name}: played`, apply: () => this.enqueue(job), weight: 3 });
            break;
          case 'scheduled':
            events.push({
              describe: `${name}: its delay is over`,
              apply: () => this.enqueue(job),
              weight: 3,
            });
            events.push({
              describe: `${name}: unscheduled`,
              apply: () => this.setGitLab(job, 'manual', false),
              weight: 1,
            });
            break;
          case 'preparing':
            events.push({
              describe: `${name}: prepared`,
              apply: () => this.setGitLab(job, 'pending', true),
              weight: 3,
            });
            break;
          case 'failed':
          case 'canceled':
            if (job.state.retries < MAX_RETRIES) {
              events.push({ describe: `${name}: retried`, apply: () => this.retry(job), weight: 2 });
            }
            break;
          default:
            break;
        }
      }
      if (current.some((job) => CANCELABLE.has(job.state.status) || job.state.status === 'running')) {
        events.push({
          describe: `gitlab pipeline ${pipeline.id}: canceled`,
          apply: () => this.cancelPipeline(pipeline),
          weight: 1,
        });
      }
    }
    return events;
  }

  private earlierStageFailed(pipeline: Pipeline, job: GitLabJob): boolean {
    return this.latest(pipeline).some((other) => other.state.stage < job.state.stage && this.failed(other));
  }

  /**
   * Retrying a failed or canceled job creates a new job (new id, `created` hook) and resets the
   * skipped jobs after it to `created` without a hook (Ci::ResetSkippedJobsService).
   */
  private retry(job: GitLabJob): void {
    const pipeline = job.pipeline;
    job.retried = true;
    const clone = this.newGitLabJob(pipeline, job.index, job.state.retries + 1);
    this.events.push(
      `  gitlab ${describeGitLab(clone)}: created as the retry of ${job.state.id}${clone.createdHookDue === null ? ' (hook)' : ''}`,
    );
    for (const other of this.latest(pipeline)) {
      if (other.state.status !== 'skipped') continue;
      const needs = this.needsOf(pipeline, other);
      const depends = needs === null ? other.state.stage > job.state.stage : needs.includes(job.index);
      if (depends) this.setGitLab(other, 'created', false);
    }
  }

  private cancelPipeline(pipeline: Pipeline): void {
    for (const job of this.latest(pipeline)) {
      if (CANCELABLE.has(job.state.status)) this.setGitLab(job, 'canceled', true);
      else if (job.state.status === 'running') this.setGitLab(job, 'canceling', false);
    }
  }

  // ------------------------------------------------------------------ GitHub

  private githubHook(action: 'queued' | 'waiting' | 'in_progress' | 'completed', job: GitHubJob): void {
    this.webhooks.push({ platform: 'github', action, job: { ...job.state, labels: [...job.state.labels] } });
  }

  private createGitHubJob(spec: GitHubJobSpec, runId: number, attempt: number, index: number): GitHubJob {
    const labels = spec.selfHosted
      ? ['self-hosted', ...(spec.linux ? ['linux'] : []), ...spec.labels]
      : spec.labels.length > 0
        ? spec.labels
        : ['ubuntu-latest'];
    const job: GitHubJob = {
      spec,
      rerun: false,
      state: {
        id: this.options.ids.githubJob++,
        runId,
        attempt,
        name: `job-${index}`,
        labels,
        selfHosted: spec.selfHosted,
        gated: spec.gated,
        status: spec.gated ? 'waiting' : 'queued',
        conclusion: null,
        createdAt: this.now(),
        startedAt: null,
        completedAt: null,
        runner: null,
      },
    };
    this.githubJobs.push(job);
    // A job gated by an environment's required reviewers: `queued` whose status is `waiting`
    // (with the deployment), then `waiting`. Otherwise `queued`.
    this.githubHook('queued', job);
    if (spec.gated) this.githubHook('waiting', job);
    this.events.push(
      `  github ${describeGitHub(job)}: ${spec.gated ? 'queued (status waiting) + waiting' : 'queued'} (hooks)`,
    );
    return job;
  }

  private createGitHubWorkflow(spec: WorkflowSpec): void {
    const runId = this.options.ids.githubRun++;
    this.events.push(`github run ${runId} created (${spec.jobs.length} jobs)`);
    spec.jobs.forEach((job, index) => {
      this.createGitHubJob(job, runId, 1, index);
    });
  }

  private setGitHub(
    job: GitHubJob,
    status: GitHubStatus,
    conclusion: GitHubJobState['conclusion'] = null,
  ): void {
    const from = job.state.status;
    job.state.status = status;
    if (status === 'in_progress') {
      job.state.startedAt = this.now();
      job.state.runner = { id: 100 + (job.state.id % 50), name: `runner-${job.state.id}` };
    }
    if (status === 'completed') {
      job.state.conclusion = conclusion;
      job.state.completedAt = this.now();
    }
    this.events.push(
      `  github ${describeGitHub(job)}: ${from} → ${status}${conclusion ? ` (${conclusion})` : ''} (hook)`,
    );
    this.githubHook(status, job);
  }

  private githubEvents(): ForgeEvent[] {
    const events: ForgeEvent[] = [];
    for (const job of this.githubJobs) {
      const name = `github ${describeGitHub(job)}`;
      switch (job.state.status) {
        case 'waiting':
          events.push({
            describe: `${name}: deployment approved`,
            apply: () => this.setGitHub(job, 'queued'),
            weight: 4,
          });
          events.push({
            describe: `${name}: deployment rejected`,
            apply: () => this.setGitHub(job, 'completed', 'failure'),
            weight: 1,
          });
          events.push({
            describe: `${name}: run cancelled before approval`,
            apply: () => this.setGitHub(job, 'completed', 'cancelled'),
            weight: 1,
          });
          break;
        case 'queued':
          if (!job.spec.selfHosted || this.fitsAFlavor('github', labelsForMatching(job.state.labels))) {
            events.push({
              describe: `${name}: a runner takes it`,
              apply: () => this.setGitHub(job, 'in_progress'),
              weight: 6,
            });
          }
          events.push({
            describe: `${name}: cancelled before start`,
            apply: () => this.setGitHub(job, 'completed', 'cancelled'),
            weight: 1,
          });
          break;
        case 'in_progress':
          events.push({
            describe: `${name}: succeeds`,
            apply: () => this.setGitHub(job, 'completed', 'success'),
            weight: 4,
          });
          events.push({
            describe: `${name}: fails`,
            apply: () => this.setGitHub(job, 'completed', 'failure'),
            weight: 2,
          });
          events.push({
            describe: `${name}: cancelled while running`,
            apply: () => this.setGitHub(job, 'completed', 'cancelled'),
            weight: 1,
          });
          break;
        case 'completed':
          if (!job.rerun && job.state.conclusion !== 'success' && job.state.attempt < MAX_ATTEMPTS) {
            events.push({
              describe: `${name}: re-run`,
              apply: () => {
                job.rerun = true;
                const index = Number(job.state.name.slice('job-'.length));
                this.createGitHubJob(job.spec, job.state.runId, job.state.attempt + 1, index);
              },
              weight: 2,
            });
          }
          break;
      }
    }
    return events;
  }
}

function describeGitLab(job: GitLabJob): string {
  return `job ${job.state.id} (pipeline ${job.pipeline.id}, ${job.state.name}, tags ${JSON.stringify(job.state.tags)})`;
}

function describeGitHub(job: GitHubJob): string {
  return `job ${job.state.id} (run ${job.state.runId} attempt ${job.state.attempt}, ${JSON.stringify(job.state.labels)})`;
}

export function labelsForMatching(labels: readonly string[]): string[] {
  return labels.filter((label) => !GITHUB_IMPLICIT.has(label.toLowerCase()));
}

/** Runs the scenario's forges; deterministic for a scenario and options. `options.ids` advances. */
export function simulate(scenario: Scenario, options: SimulationOptions): Timeline {
  const forges = new Forges(scenarioFlavors(scenario), options);
  const steps: Step[] = [];
  const last = scenario.steps.length - 1;
  scenario.steps.forEach((choices, index) => {
    forges.beginStep(index);
    for (const spec of scenario.pipelines)
      if (Math.min(spec.start, last) === index) forges.createPipeline(spec);
    for (const spec of scenario.workflows)
      if (Math.min(spec.start, last) === index) forges.createWorkflow(spec);
    for (const choice of choices) {
      const possible = forges.possible();
      if (possible.length === 0) break;
      forges.perform(pick(possible, choice));
    }
    steps.push(forges.endStep(index === last));
  });
  return { steps };
}
