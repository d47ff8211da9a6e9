import { formatWaits } from '../src/testing-waits.js';
import type { AddFlavorResult } from './scenarios/add-flavor.js';
import type { AddJobResult } from './scenarios/add-job.js';
import type { PressureResult } from './scenarios/pressures.js';
import type { WriteMixResult } from './scenarios/write-mix.js';

export interface Row {
  operation: string;
  unit: 'ms' | 'jobs/s' | 's';
  ours: number;
  /** The original SQL on our tables (same data, same schema, same triggers). */
  baseline: number;
  /** The original SQL on a copy of the data in the original's own schema; informational. */
  original: number | undefined;
  /** ours / baseline. */
  ratio: number;
  goal: string;
  pass: boolean;
}

const P99_LIMIT_MS = 5;
const ADD_JOB_MIN_RATIO = 0.8;
const ADD_FLAVOR_LIMIT_S = 5;

export function buildRows(
  pressures: PressureResult,
  addJob: AddJobResult,
  addFlavor: AddFlavorResult,
): Row[] {
  const rows: Row[] = [];
  const cases = [
    ['getPressures, all flavors', pressures.all],
    [`getPressures, one flavor`, pressures.one],
  ] as const;
  for (const [name, summary] of cases) {
    const ours = summary.ours;
    const baseline = summary.baseline;
    if (!ours || !baseline) throw new Error(`${name}: missing a side`);
    rows.push({
      operation: `${name}: median`,
      unit: 'ms',
      ours: ours.p50Ms,
      baseline: baseline.p50Ms,
      original: summary.original?.p50Ms,
      ratio: ours.p50Ms / baseline.p50Ms,
      goal: '≤ baseline',
      pass: ours.p50Ms <= baseline.p50Ms,
    });
    rows.push({
      operation: `${name}: p99`,
      unit: 'ms',
      ours: ours.p99Ms,
      baseline: baseline.p99Ms,
      original: summary.original?.p99Ms,
      ratio: ours.p99Ms / baseline.p99Ms,
      goal: `≤ ${P99_LIMIT_MS} ms and ≤ baseline`,
      pass: ours.p99Ms <= P99_LIMIT_MS && ours.p99Ms <= baseline.p99Ms,
    });
  }
  const jobs = addJob.jobsPerSecond;
  if (jobs.ours === undefined || jobs.baseline === undefined) throw new Error('addJob: missing a side');
  rows.push({
    operation: `addJob, ${addJob.callers} concurrent callers`,
    unit: 'jobs/s',
    ours: jobs.ours,
    baseline: jobs.baseline,
    original: jobs.original,
    ratio: jobs.ours / jobs.baseline,
    goal: `≥ ${ADD_JOB_MIN_RATIO}× baseline`,
    pass: jobs.ours >= ADD_JOB_MIN_RATIO * jobs.baseline,
  });
  const worst = addFlavor.worstSeconds;
  if (worst.ours === undefined || worst.baseline === undefined) throw new Error('addFlavor: missing a side');
  rows.push({
    operation: `addFlavor re-assigning ${addFlavor.jobs.toLocaleString('en-US')} jobs (slowest run)`,
    unit: 's',
    ours: worst.ours,
    baseline: worst.baseline,
    original: worst.original,
    ratio: worst.ours / worst.baseline,
    goal: `≤ ${ADD_FLAVOR_LIMIT_S} s`,
    pass: worst.ours <= ADD_FLAVOR_LIMIT_S,
  });
  return rows;
}

function format(value: number | undefined, unit: Row['unit']): string {
  if (value === undefined) return '–';
  if (unit === 'jobs/s') return `${Math.round(value).toLocaleString('en-US')} jobs/s`;
  return `${value.toFixed(2)} ${unit}`;
}

/** What the table alone does not say: sample counts and the per-run figures behind each row. */
export function notes(pressures: PressureResult, addJob: AddJobResult, addFlavor: AddFlavorResult): string[] {
  const count = (summary: PressureResult['all']) =>
    Object.entries(summary)
      .map(([side, s]) => `${side} ${s.samples}`)
      .join(', ');
  const perSide = <T extends { side: string }>(items: readonly T[], show: (item: T) => string) =>
    [...new Set(items.map((item) => item.side))]
      .map(
        (side) =>
          `${side} ${items
            .filter((item) => item.side === side)
            .map(show)
            .join(' / ')}`,
      )
      .join('; ');
  return [
    'Ratios are ours ÷ the other side: below 1 is better for ms and s, above 1 is better for jobs/s.',
    `getPressures calls timed: all flavors: ${count(pressures.all)}; one flavor (${pressures.flavor}): ${count(pressures.one)}.` +
      (pressures.agree ? '' : ' WARNING: the sides returned different pressures.'),
    `addJob jobs/s per segment, in run order per side: ${perSide(addJob.segments, (s) => Math.round(s.jobsPerSecond).toString())}.`,
    `addFlavor seconds per run: ${perSide(addFlavor.runs, (r) => r.seconds.toFixed(2))}.`,
  ];
}

export function markdownTable(rows: readonly Row[], footnotes: readonly string[] = []): string {
  const lines = [
    '| operation | ours | baseline | ratio (ours/baseline) | goal | result | baseline on original schema | ratio (ours/original) |',
    '|---|---:|---:|---:|---|---|---:|---:|',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.operation} | ${format(row.ours, row.unit)} | ${format(row.baseline, row.unit)} | ` +
        `${row.ratio.toFixed(2)}× | ${row.goal} | ${row.pass ? 'pass' : 'FAIL'} | ${format(row.original, row.unit)} | ` +
        `${row.original === undefined ? '–' : `${(row.ours / row.original).toFixed(2)}×`} |`,
    );
  }
  if (footnotes.length > 0) lines.push('', ...footnotes.map((note) => `- ${note}`));
  return lines.join('\n');
}

const HOT_MIN_RATIO = 0.9;
const ORIGINAL_MIN_RATIO = 1.0;

/** The write mix: throughput per side and shape, the three goals, and what PostgreSQL waited on. */
export function writeMixTable(result: WriteMixResult): { markdown: string; pass: boolean } {
  const rate = (key: string) => result.jobsPerSecond[key] ?? Number.NaN;
  const goals = [
    ['ours, one flavor ÷ ours, 100 flavors', rate('ours/hot') / rate('ours/spread'), HOT_MIN_RATIO],
    ['ours ÷ original, one flavor', rate('ours/hot') / rate('original/hot'), ORIGINAL_MIN_RATIO],
    ['ours ÷ original, 100 flavors', rate('ours/spread') / rate('original/spread'), ORIGINAL_MIN_RATIO],
  ] as const;
  const lines = [
    `Write mix: addJob → updateJobStarted → updateJobCompleted per job, ${result.payloadBytes.toLocaleString('en-US')}-byte payload per event, ${result.inFlight} jobs in flight.`,
    '',
    '| side | one flavor | 100 flavors | CPU ms per job, client + PostgreSQL (one flavor / 100 flavors) | jobs/s per segment (one flavor / 100 flavors) |',
    '|---|---:|---:|---|---|',
  ];
  for (const side of ['ours', 'original'] as const) {
    const segments = (shape: string) =>
      result.segments
        .filter((s) => s.side === side && s.shape === shape)
        .map((s) => Math.round(s.jobsPerSecond))
        .join(', ');
    const cpu = (shape: string) => {
      const perJob = result.cpuMsPerJob[`${side}/${shape}`];
      return perJob === undefined ? '–' : `${perJob.client.toFixed(2)} + ${perJob.postgres.toFixed(2)}`;
    };
    lines.push(
      `| ${side} | ${Math.round(rate(`${side}/hot`))} jobs/s | ${Math.round(rate(`${side}/spread`))} jobs/s | ${cpu('hot')} / ${cpu('spread')} | ${segments('hot')} / ${segments('spread')} |`,
    );
  }
  lines.push('', '| ratio | value | goal | result |', '|---|---:|---|---|');
  for (const [name, value, goal] of goals) {
    lines.push(
      `| ${name} | ${value.toFixed(2)}× | ≥ ${goal.toFixed(1)}× | ${value >= goal ? 'pass' : 'FAIL'} |`,
    );
  }
  lines.push('', 'PostgreSQL meanwhile (mean active backends by wait event and statement):', '');
  for (const [key, waits] of Object.entries(result.waits)) lines.push(`- ${key}: ${formatWaits(waits)}`);
  return { markdown: lines.join('\n'), pass: goals.every(([, value, goal]) => value >= goal) };
}
