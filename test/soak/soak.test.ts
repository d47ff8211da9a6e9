import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cleanup } from '@runner-planner/bench-kit';
import { openTestSql } from '@runner-planner/database/testing';
import { createTestDatabase } from '@runner-planner/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { benchFlavors } from '../bench/payloads.js';
import { CHROMIUM } from './chart.js';
import { APPS } from './samples.js';
import { FIRST_JOB_ID, runSoak, soakEvents } from './soak.js';
import { verifyJobs } from './verify.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const browser = existsSync(CHROMIUM);
const LOAD = { rate: 50, durationSeconds: 10 };
const FLAVORS = 4;

describe('soak harness, short', () => {
  const messages: string[] = [];
  const cleanup = new Cleanup((message) => messages.push(message));
  let directory = '';

  afterAll(async () => {
    await cleanup.runAll();
    if (directory) await rm(directory, { recursive: true, force: true });
    expect(messages, 'every cleanup step succeeded').toEqual([]);
  });

  it(`10 s at 50 events/s: nothing lost, samples of every process, results written${browser ? ', PNG chart' : ` (no ${CHROMIUM}: no chart)`}`, async () => {
    directory = await mkdtemp(join(tmpdir(), 'runner-planner-soak-'));
    const chart = join(directory, 'chart', 'soak.png');
    let databaseUrl = '';
    const { summary, samples, files } = await runSoak(
      {
        ...LOAD,
        sampleIntervalSeconds: 2,
        workerConcurrency: 8,
        flavors: FLAVORS,
        streams: 3,
        drainTimeoutSeconds: 60,
        pollMs: 20,
        resultsDir: directory,
        chartPath: browser ? chart : undefined,
        createDatabase: async () => {
          const database = await createTestDatabase('soak');
          databaseUrl = database.url;
          return database;
        },
        log: () => {},
      },
      cleanup,
    );

    // 500 events of 167 jobs (the last job's three events make it 501), all accepted and recorded.
    expect(summary.sent).toBe(501);
    expect(summary.accepted).toBe(501);
    expect(summary.drained).toBe(true);
    expect(summary.verification).toMatchObject({
      jobsExpected: 167,
      jobsFound: 167,
      lostEvents: 0,
      wrongFinalState: 0,
      unexpectedJobs: 0,
      incompleteAssigned: 0,
    });
    expect(summary.failedQueueJobs).toBe(0);
    expect(summary.appExits).toEqual([]);
    expect(summary.streams).toMatchObject({ open: 3, converged: true, errors: [] });
    expect(summary.streams.updates).toBeGreaterThan(3);

    // A sample every 2 s of the 10 s load, each with every process's memory.
    const load = samples.filter((sample) => sample.phase === 'load');
    expect(load.length).toBeGreaterThanOrEqual(5);
    expect(samples.reduce((sum, sample) => sum + sample.accepted, 0)).toBe(501);
    for (const sample of samples) {
      for (const app of APPS) {
        expect(sample.memory[app].rssBytes, `${app} RSS`).toBeGreaterThan(10 * 2 ** 20);
        expect(sample.memory[app].heapUsedBytes, `${app} heap`).toBeGreaterThan(2 ** 20);
      }
    }
    // Latency measured for nearly every event (a few may be seen before first asked about).
    expect(summary.latency.overall.samples + summary.latency.unmeasured).toBe(501);
    expect(summary.latency.overall.p50Ms).toBeGreaterThan(0);
    expect(summary.latency.overall.p99Ms).toBeGreaterThanOrEqual(summary.latency.overall.p50Ms);
    for (const app of APPS) expect(Number.isFinite(summary.memory[app].rssSlopeMbPerHour), app).toBe(true);

    const saved = JSON.parse(await readFile(files.json, 'utf8')) as { samples: unknown[] };
    expect(saved.samples).toHaveLength(samples.length);
    expect((await readFile(files.csv, 'utf8')).trim().split('\n')).toHaveLength(samples.length + 1);
    expect(await readFile(files.markdown, 'utf8')).toContain(
      '| **lost** (accepted, effect not in the database) | **0** |',
    );
    // The check finds a loss: one job's completion taken out of the database is reported.
    const lostJob = FIRST_JOB_ID + 42;
    const client = openTestSql(databaseUrl, { max: 1 });
    try {
      await client.query(
        `UPDATE job SET completed_at = NULL, raw = raw - 'completed' WHERE platform = 'github' AND id = $1`,
        [String(lostJob)],
      );
    } finally {
      await client.end();
    }
    const events = soakEvents(LOAD, benchFlavors(FLAVORS));
    const recheck = await verifyJobs(databaseUrl, events, () => true);
    expect(recheck).toMatchObject({
      lostEvents: 1,
      wrongFinalState: 1,
      examples: [`job ${lostJob}: completed not recorded`],
    });

    if (browser) {
      const png = await readFile(chart);
      expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
      expect(png.length).toBeGreaterThan(20_000);
    }
  });
});
