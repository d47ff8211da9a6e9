import { mkdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type SendFigures, StreamSender } from './sender.js';
import { planStream, type StreamEvent } from './truth.js';
import { agrees, type Comparison, compareWithTruth } from './verify.js';
import type { World } from './world.js';

/** CHAOS_JOBS selects the full run (thousands of jobs); without it a short one fits in the normal suite. */
function positiveNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, got "${text}"`);
  return value;
}

const full = (process.env.CHAOS_JOBS ?? '') !== '';
export const settings = {
  full,
  jobs: Math.round(positiveNumber('CHAOS_JOBS', 300)),
  /** Events per second of the stream. */
  rate: positiveNumber('CHAOS_RATE', full ? 150 : 100),
};

export interface FaultContext {
  /** Resolves once this share (0..1) of the stream's events has been started. */
  untilSent(share: number): Promise<void>;
  /** Records what was done and when (seconds since the stream began), for the results. */
  log(action: string): void;
}

export interface ScenarioOptions {
  /** File name of the results, e.g. `worker-sigkill`. */
  name: string;
  /** One line for the table. */
  title: string;
  world: World;
  /** Current gateway URLs; events of a job and retries rotate over them. */
  gateways(): string[];
  /** Runs alongside the stream and injects the fault; the stream ends when both are done. */
  inject(context: FaultContext): Promise<void>;
  /**
   * How long the system may take to agree with the truth after the stream ends. The short run's
   * default stays well inside the test's timeout, so a run that never agrees reports why.
   */
  convergeTimeoutMs?: number;
  /**
   * The scenario demonstrates a documented loss (Redis without persistence): instead of waiting
   * for agreement, it waits for the queue to drain and measures what is missing.
   */
  expectsLoss?: boolean;
}

export interface ScenarioFigures {
  scenario: string;
  title: string;
  run: 'full' | 'short';
  jobs: number;
  rate: number;
  send: SendFigures;
  /** Accepted events (2xx) without effect, whether or not their job has a row. */
  lost: number;
  /** Rows beyond one per job, plus pressure counting a job twice. */
  duplicated: number;
  comparison: Comparison;
  deadLetters: number;
  converged: boolean;
  /** From the last answer to the sender to the database agreeing with the truth; null if it never did. */
  convergeSeconds: number | null;
  /** When it never agreed: where the first lost events' queue jobs are, and what the apps logged of them. */
  diagnosis: string[];
  faults: { atSeconds: number; action: string }[];
  expectsLoss: boolean;
  finishedAt: string;
}

export const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export async function runScenario(options: ScenarioOptions): Promise<ScenarioFigures> {
  const { world } = options;
  const plan = planStream(settings.jobs);
  await world.prepare(plan);

  const sender = new StreamSender({
    rate: settings.rate,
    target: (event, attempt) => pickGateway(options.gateways(), event, attempt),
  });
  const began = performance.now();
  const faults: ScenarioFigures['faults'] = [];
  const context: FaultContext = {
    async untilSent(share) {
      while (sender.progress() < share) await sleep(20);
    },
    log(action) {
      faults.push({ atSeconds: round((performance.now() - began) / 1000), action });
    },
  };
  const [send] = await Promise.all([sender.send(plan.events), options.inject(context)]);
  const streamEnded = performance.now();

  const compare = () => compareWithTruth(world.databaseUrl, world.db, plan, sender.accepted);
  let comparison: Comparison | undefined;
  let converged = false;
  if (options.expectsLoss) {
    await drained(world);
    comparison = await compare();
    converged = agrees(comparison);
  } else {
    const deadline = streamEnded + (options.convergeTimeoutMs ?? (settings.full ? 120_000 : 60_000));
    while (performance.now() < deadline) {
      // The database may itself be the thing that just restarted: a failed read is retried.
      comparison = await compare().catch(() => comparison);
      if (comparison && agrees(comparison)) {
        converged = true;
        break;
      }
      await sleep(250);
    }
    comparison ??= await compare();
  }
  const convergeSeconds = converged ? round((performance.now() - streamEnded) / 1000) : null;

  const figures: ScenarioFigures = {
    scenario: options.name,
    title: options.title,
    run: settings.full ? 'full' : 'short',
    jobs: settings.jobs,
    rate: settings.rate,
    send,
    lost: comparison.lostEvents,
    duplicated: comparison.extraRows + comparison.pressureDoubleCounted,
    comparison,
    deadLetters: await world.deadLetters(),
    converged,
    convergeSeconds,
    diagnosis: converged ? [] : await diagnose(world, comparison),
    faults,
    expectsLoss: options.expectsLoss ?? false,
    finishedAt: new Date().toISOString(),
  };
  await writeResults(figures);
  return figures;
}

/** Tells a lost event still on its way (waiting for a retry) from one the queue finished with. */
async function diagnose(world: World, comparison: Comparison): Promise<string[]> {
  const lines: string[] = [`backlog ${await world.backlog().catch(() => 'unknown')}`];
  for (const id of comparison.lostQueueJobs) {
    const job = await world.queue.getJob(id).catch(() => undefined);
    const state = job ? await job.getState() : 'not in the queue';
    const detail = job
      ? ` attempts ${job.attemptsMade}, processed ${stamp(job.processedOn)}, finished ${stamp(job.finishedOn)}` +
        (job.failedReason ? `, failed: ${job.failedReason}` : '')
      : '';
    lines.push(`${id}: ${state}${detail}`);
    const deliveryId = id.slice(id.indexOf('-') + 1);
    for (const line of world.logLines(deliveryId).slice(0, 5)) lines.push(`  ${line}`);
  }
  return lines;
}

function stamp(epochMs: number | undefined): string {
  return epochMs === undefined ? '-' : new Date(epochMs).toISOString();
}

/** Events of one job go to different gateways, and a retry goes to the next one. */
function pickGateway(urls: string[], event: StreamEvent, attempt: number): string {
  const phase = ['queued', 'started', 'completed'].indexOf(event.phase);
  return urls[(event.job.id + phase + attempt - 1) % urls.length] as string;
}

/** Waits until the queue has been empty for a few consecutive looks. */
async function drained(world: World): Promise<void> {
  let quiet = 0;
  const deadline = performance.now() + 120_000;
  while (quiet < 4 && performance.now() < deadline) {
    quiet = (await world.backlog().catch(() => 1)) === 0 ? quiet + 1 : 0;
    await sleep(250);
  }
}

async function writeResults(figures: ScenarioFigures): Promise<void> {
  const dir = `${RESULTS_DIR}${figures.run}/`;
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}${figures.scenario}.json`, `${JSON.stringify(figures, null, 2)}\n`);
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
