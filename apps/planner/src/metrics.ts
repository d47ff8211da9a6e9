import type { Database, IncompleteJobCounts } from '@runner-planner/database';
import { type HttpServerObservation, httpServerMetric } from '@runner-planner/http-metrics';
import { type Log, lineLog, logErrors, redactUrl } from '@runner-planner/process';
import {
  closeQueuesAndConnection,
  producerConnection,
  WEBHOOK_QUEUE,
  whenConnected,
} from '@runner-planner/queue';
import { Queue } from 'bullmq';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export const PLATFORMS = ['github', 'gitlab'] as const;
/** States reported by `runner_planner_jobs`: held jobs are known to the forge but never counted. */
export const JOB_STATES = ['held', 'queued', 'running'] as const;
/** BullMQ states reported by `runner_planner_queue_jobs`; `failed` holds the dead letters. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
/** Every BullMQ queue of the system, reported by `runner_planner_queue_jobs`. */
const METRIC_QUEUES: readonly string[] = [WEBHOOK_QUEUE];

/** A scrape must answer before Prometheus gives up (10 s by default), even with a dependency down. */
const COLLECT_TIMEOUT_MS = 4_000;

export interface PlannerMetricsOptions {
  /** Where to register; a new registry by default. A shared registry (all-in-one start) works. */
  registry?: Registry;
  db: Database;
  redisUrl: string;
  prefix: string;
  /** How many pressure streams are open right now. */
  streams: () => number;
  /** How long one exposition answers scrapes (METRICS_CACHE_SECONDS). Default 0: in-flight only. */
  cacheMs?: number;
  /** Where Redis connection problems are told, once each (a line on stderr by default). */
  log?: Log;
}

/**
 * Series that name flavors: flavor names and their pressure are what the admin-only flavor list
 * shows, so they are only exposed to a scrape that presents METRICS_TOKEN.
 */
export const FLAVOR_SERIES: ReadonlySet<string> = new Set([
  'runner_planner_pressure',
  'github_runner_planner_flavor_pressure',
]);

export interface PlannerMetrics {
  registry: Registry;
  /**
   * The exposition text: every series (`withFlavors`), or all but `FLAVOR_SERIES`. Scrapes
   * while one is being collected share it, and its text answers scrapes for `cacheMs` more, so a
   * flood of scrapes reads PostgreSQL and Redis once per `cacheMs`.
   */
  expose(withFlavors: boolean): Promise<string>;
  /** Observed by the HTTP server for every request it answers, except pressure streams. */
  httpRequestDuration: Histogram<'route' | 'method' | 'status_code'>;
  /**
   * OpenTelemetry's `http.server.request.duration`, as the original planner exported it: every
   * request, streams included (its dashboard leaves the pressure route out of latencies).
   */
  observeHttpServer(observation: HttpServerObservation): void;
  /** Closes the Redis connection the collectors use; the metrics stay registered. */
  close(): Promise<void>;
}

/** How long a scrape waits for a Redis connection that is not ready. */
const REDIS_READY_WAIT_MS = 1_000;

/** How long one count of incomplete jobs answers scrapes. */
const JOB_COUNTS_MAX_AGE_MS = 10_000;

/**
 * The planner's Prometheus metrics. Gauges are read when scraped; a collector whose database or
 * Redis is unreachable reports no series for that scrape instead of failing the whole scrape.
 */
export function createPlannerMetrics(options: PlannerMetricsOptions): PlannerMetrics {
  const registry = options.registry ?? new Registry();
  const { db } = options;
  let closed = false;

  if (registry.getSingleMetric('runner_planner_planner_process_cpu_seconds_total') === undefined) {
    collectDefaultMetrics({ register: registry, prefix: 'runner_planner_planner_' });
  }

  // The count reads every incomplete job's row: scrapes close together (several Prometheus
  // replicas) and the two gauges of one scrape share one query, and a result is reused for
  // JOB_COUNTS_MAX_AGE_MS.
  let counted: { at: number; rows: IncompleteJobCounts[] } | undefined;
  let counting: Promise<IncompleteJobCounts[] | undefined> | undefined;
  const jobCounts = (): Promise<IncompleteJobCounts[] | undefined> => {
    if (closed) return Promise.resolve(undefined);
    if (counted !== undefined && Date.now() - counted.at < JOB_COUNTS_MAX_AGE_MS) {
      return Promise.resolve(counted.rows);
    }
    counting ??= attempt(() => db.countIncompleteJobs()).then((rows) => {
      counting = undefined;
      if (rows !== undefined) counted = { at: Date.now(), rows };
      return rows;
    });
    return counting;
  };

  // Offline queue on: BullMQ issues commands while a queue initialises, even if closed at once.
  const connection = producerConnection(options.redisUrl, { enableOfflineQueue: true });
  // A scrape waits a little for a connection being made, not for a Redis that is down.
  const redisReady = (): Promise<boolean> => whenConnected(connection, REDIS_READY_WAIT_MS);
  const queues = METRIC_QUEUES.map((name) => new Queue(name, { connection, prefix: options.prefix }));
  // A scrape during an outage leaves the queue series out; the log says why, once per cause.
  logErrors(
    [connection, ...queues],
    options.log ?? lineLog('planner'),
    'planner metrics: Redis',
    { redis: redactUrl(options.redisUrl) },
    { recoveredOn: 'ready' },
  );

  // Both pressure gauges of one scrape share one read (the registry collects them at once).
  let readingPressures: Promise<Array<Record<string, number>> | undefined> | undefined;
  const pressures = (): Promise<Array<Record<string, number>> | undefined> => {
    if (closed) return Promise.resolve(undefined);
    readingPressures ??= attempt(() =>
      Promise.all(PLATFORMS.map((platform) => db.getPressures(platform))),
    ).finally(() => {
      readingPressures = undefined;
    });
    return readingPressures;
  };

  const httpServer = httpServerMetric(registry);

  const httpRequestDuration =
    (registry.getSingleMetric('runner_planner_planner_request_duration_seconds') as
      | Histogram<'route' | 'method' | 'status_code'>
      | undefined) ??
    new Histogram({
      name: 'runner_planner_planner_request_duration_seconds',
      help: 'Planner HTTP request duration, by route pattern, method and status code.',
      labelNames: ['route', 'method', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });

  const pressureGauge = (help: string) => (name: string) =>
    new Gauge({
      name,
      help,
      labelNames: ['platform', 'flavor'],
      registers: [],
      async collect() {
        const read = await pressures();
        this.reset();
        read?.forEach((byFlavor, index) => {
          const platform = PLATFORMS[index] as string;
          for (const [flavor, value] of Object.entries(byFlavor)) this.set({ platform, flavor }, value);
        });
      },
    });
  replace(
    registry,
    'runner_planner_pressure',
    pressureGauge(
      'Pressure of each flavor: max(minimum pressure, its incomplete jobs within the staleness window).',
    ),
  );
  // The original planner's gauge, under its Prometheus name; flavor names are set by admins.
  replace(
    registry,
    'github_runner_planner_flavor_pressure',
    pressureGauge('The current pressure value for each flavor (name of the original planner).'),
  );

  replace(
    registry,
    'runner_planner_jobs',
    (name) =>
      new Gauge({
        name,
        help: 'Incomplete CI jobs (any age, assigned or not), by platform and state: held (not offered to runners yet by the forge, never counted toward pressure), queued (waiting for a runner) or running.',
        labelNames: ['platform', 'state'],
        registers: [],
        async collect() {
          const rows = await jobCounts();
          this.reset();
          if (rows === undefined) return;
          // Zeros too, so that a platform without jobs is a 0 on the panels rather than a gap.
          for (const platform of PLATFORMS) for (const state of JOB_STATES) this.set({ platform, state }, 0);
          for (const row of rows) {
            for (const state of JOB_STATES) this.set({ platform: row.platform, state }, row[state]);
          }
        },
      }),
  );

  replace(
    registry,
    'runner_planner_jobs_unassigned',
    (name) =>
      new Gauge({
        name,
        help: 'Incomplete jobs waiting or running, within the staleness window, that no enabled flavor takes: demand nobody serves (runner-planner jobs why <platform> <id> says why).',
        labelNames: ['platform'],
        registers: [],
        async collect() {
          const rows = await jobCounts();
          this.reset();
          if (rows === undefined) return;
          for (const platform of PLATFORMS) this.set({ platform }, 0);
          for (const row of rows) this.set({ platform: row.platform }, row.unassigned);
        },
      }),
  );

  replace(
    registry,
    'runner_planner_queue_jobs',
    (name) =>
      new Gauge({
        name,
        help: 'Jobs in each BullMQ queue by state; failed = dead letters (and jobs that used up their retries).',
        labelNames: ['queue', 'state'],
        registers: [],
        async collect() {
          const counts =
            closed || !(await redisReady())
              ? undefined
              : await attempt(() => Promise.all(queues.map((queue) => queue.getJobCounts(...QUEUE_STATES))));
          this.reset();
          counts?.forEach((byState, index) => {
            const queue = METRIC_QUEUES[index] as string;
            for (const state of QUEUE_STATES) this.set({ queue, state }, byState[state] ?? 0);
          });
        },
      }),
  );

  const collections =
    (registry.getSingleMetric('runner_planner_planner_metrics_collections_total') as Counter | undefined) ??
    new Counter({
      name: 'runner_planner_planner_metrics_collections_total',
      help: 'Times /metrics was collected (PostgreSQL and Redis read); scrapes within METRICS_CACHE_SECONDS of one share its answer.',
      registers: [registry],
    });

  replace(
    registry,
    'runner_planner_pressure_streams',
    (name) =>
      new Gauge({
        name,
        help: 'Pressure streams (GET …/pressure?stream=true) open right now.',
        registers: [],
        collect() {
          try {
            this.set(options.streams());
          } catch {
            // Keeps the last value: a gauge without labels always reports one.
          }
        },
      }),
  );

  const cacheMs = options.cacheMs ?? 0;
  const exposed = new Map<boolean, { text: Promise<string>; doneAt: number | undefined }>();
  const render = async (withFlavors: boolean): Promise<string> => {
    if (withFlavors) return registry.metrics();
    const names = registry
      .getMetricsAsArray()
      .map((metric) => metric.name)
      .filter((name) => !FLAVOR_SERIES.has(name));
    const texts = await Promise.all(names.map((name) => registry.getSingleMetricAsString(name)));
    return `${texts.join('\n\n')}\n`;
  };

  return {
    registry,
    expose(withFlavors) {
      const last = exposed.get(withFlavors);
      if (last !== undefined && (last.doneAt === undefined || Date.now() - last.doneAt < cacheMs)) {
        return last.text;
      }
      collections.inc();
      const entry: { text: Promise<string>; doneAt: number | undefined } = {
        text: render(withFlavors),
        doneAt: undefined,
      };
      exposed.set(withFlavors, entry);
      entry.text.then(
        () => {
          entry.doneAt = Date.now();
        },
        () => {
          if (exposed.get(withFlavors) === entry) exposed.delete(withFlavors);
        },
      );
      return entry.text;
    },
    httpRequestDuration,
    observeHttpServer: (observation) => httpServer.observe(observation),
    async close() {
      if (closed) return;
      closed = true;
      await closeQueuesAndConnection(queues, connection);
    },
  };
}

/**
 * Registers the gauge `create` makes, replacing one of the same name: a collector bound to an older planner's
 * connections (a restarted app on a shared registry) must not keep answering.
 */
function replace<T extends string>(
  registry: Registry,
  name: string,
  create: (name: string) => Gauge<T>,
): void {
  if (registry.getSingleMetric(name) !== undefined) registry.removeSingleMetric(name);
  registry.registerMetric(create(name));
}

/** The work's result, or undefined if it failed or took longer than a scrape can wait. */
async function attempt<T>(work: () => Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), COLLECT_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([work(), timeout]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
