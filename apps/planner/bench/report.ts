import type { HttpResult } from './http-bench.js';
import type { StreamsResult } from './streams-bench.js';

export const GOALS = { withinMs: 1_000, rssMiB: 300, listeners: 1 } as const;

export interface GoalResult {
  goal: string;
  value: string;
  pass: boolean;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (Number.isFinite(n) ? (n < 10 ? n.toFixed(1) : n.toFixed(0)) : 'n/a');
const mib = (n: number) => `${n.toFixed(0)} MiB`;
const verdict = (pass: boolean) => (pass ? 'pass' : 'FAIL');

export function streamGoals(result: StreamsResult): GoalResult[] {
  const { overall, memoryMiB, listenerConnections } = result;
  const highest = Math.max(memoryMiB.allOpen, memoryMiB.maxSampled);
  return [
    {
      goal: `every stream gets every change within ${GOALS.withinMs / 1000} s`,
      value: `${int(overall.withinOneSecond)} of ${int(overall.expected)} lines (max ${ms(overall.fromCommit.maxMs)} ms)`,
      pass: overall.expected > 0 && overall.withinOneSecond === overall.expected && result.open.failed === 0,
    },
    {
      goal: `planner RSS ≤ ${GOALS.rssMiB} MiB with every stream open`,
      value: `${mib(memoryMiB.allOpen)} all open, ${mib(highest)} highest sampled`,
      pass: highest <= GOALS.rssMiB,
    },
    {
      goal: 'exactly one runner-planner-pressure-listener connection',
      value: `${listenerConnections.allOpen} with all open, ${listenerConnections.afterChanges} after the changes`,
      pass:
        listenerConnections.allOpen === GOALS.listeners &&
        listenerConnections.afterChanges === GOALS.listeners,
    },
  ];
}

export function streamsMarkdown(result: StreamsResult, goals: GoalResult[]): string {
  const { open, memoryMiB, overall, streams } = result;
  const lines = [
    '| figure | value |',
    '|---|---:|',
    `| streams open on one planner process | ${int(open.open)} (${int(streams.requested - streams.all)} over ${streams.flavors.length} flavors, ${int(streams.all)} on \`_\`); ${open.failed} failed |`,
    `| planner's own count (runner_planner_pressure_streams) | ${int(result.plannerStreamsGauge)} |`,
    `| time to open them all (${'≤'} a fixed number waiting at once) | ${open.seconds.toFixed(1)} s |`,
    `| request → first line while opening: p50 / p99 / max | ${ms(open.firstLine.p50Ms)} / ${ms(open.firstLine.p99Ms)} / ${ms(open.firstLine.maxMs)} ms |`,
    `| planner CPU to open them | ${result.plannerCpuSecondsToOpen.toFixed(1)} s |`,
    `| planner RSS: before streams / all open / highest sampled / VmHWM | ${mib(memoryMiB.beforeStreams)} / ${mib(memoryMiB.allOpen)} / ${mib(memoryMiB.maxSampled)} / ${mib(memoryMiB.peak)} |`,
    `| commit → line, all ${result.changes.length} changes: p50 / p99 / max | ${ms(overall.fromCommit.p50Ms)} / ${ms(overall.fromCommit.p99Ms)} / ${ms(overall.fromCommit.maxMs)} ms |`,
    '',
    '| change | write (addJob ×' +
      `${streams.flavors.length}) | lines | first | p50 | p99 | max | within 1 s | missing | extra | planner CPU | client CPU |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.changes.map(
      (c) =>
        `| ${c.index} | ${ms(c.writeMs)} ms | ${int(c.received)} | ${ms(c.firstMs)} ms | ${ms(c.fromCommit.p50Ms)} ms | ${ms(c.fromCommit.p99Ms)} ms | ${ms(c.fromCommit.maxMs)} ms | ${int(c.withinOneSecond)} | ${c.missing} | ${c.extraLines} | ${c.plannerCpuSeconds.toFixed(2)} s | ${c.clientCpuSeconds.toFixed(2)} s |`,
    ),
    '',
    '| goal | measured | result |',
    '|---|---|---|',
    ...goals.map((g) => `| ${g.goal} | ${g.value} | ${verdict(g.pass)} |`),
  ];
  return lines.join('\n');
}

export function httpMarkdown(result: HttpResult): string {
  const lines = [
    '| connections | side | req/s | p50 | p99 | server CPU (cores) | PostgreSQL CPU (cores) | failed requests |',
    '|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const level of result.levels) {
    for (const side of ['planner', 'baseline'] as const) {
      const s = level[side];
      lines.push(
        `| ${level.connections} | ${side} | ${int(s.okPerSecond)} | ${ms(s.p50Ms)} ms | ${ms(s.p99Ms)} ms | ${s.serverCores.toFixed(2)} | ${s.postgresCores.toFixed(2)} | ${s.failures} |`,
      );
    }
    const { planner, baseline } = level;
    lines.push(
      `| ${level.connections} | **planner ÷ baseline** | ${(planner.okPerSecond / baseline.okPerSecond).toFixed(2)}× | ${(planner.p50Ms / baseline.p50Ms).toFixed(2)}× | ${(planner.p99Ms / baseline.p99Ms).toFixed(2)}× | | | |`,
    );
  }
  lines.push(
    '',
    '| callers | pure SQL (pg.Pool, no HTTP): requests-worth/s | statements/s | p50 | p99 |',
    '|---:|---:|---:|---:|---:|',
    ...result.levels.map(
      ({ sql }) =>
        `| ${sql.concurrency} | ${int(sql.operationsPerSecond)} | ${int(sql.queriesPerSecond)} | ${ms(sql.latency.p50Ms)} ms | ${ms(sql.latency.p99Ms)} ms |`,
    ),
  );
  return lines.join('\n');
}
