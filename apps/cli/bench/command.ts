/**
 * What one admin command costs from spawn to exit: `runner-planner flavor list` against a
 * migrated database with a few flavors, the command an autoscaler's operator types most, beside
 * `runner-planner --help` (commander and the command definitions only: the floor of any command).
 *
 * Each run goes through `sh -c '…; times'`, so the shell reports the CPU (user + system) of the
 * command it ran, whatever else the machine does; wall time is printed too but is the noisier.
 *
 *   BENCH_ROUNDS         runs of each command (default 15), interleaved
 *   BENCH_BASELINE_CLI   another build's dist/main.js (say, a checkout of the previous commit),
 *                        run interleaved with this one (A B, B A, …), so both are measured in the
 *                        same minute
 *   BENCH_DATABASE_URL   PostgreSQL admin URL; the bench creates and drops a database there
 *
 * Prints a markdown table on stdout and progress on stderr.
 */
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { adminUrlFromEnv, intFromEnv, quantile, roundOrder } from '@runner-planner/bench-kit';
import { createTestDatabase } from '@runner-planner/testkit';

const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const rounds = intFromEnv('BENCH_ROUNDS', 15);
const baselineCli = process.env.BENCH_BASELINE_CLI;

interface Sample {
  wallSeconds: number;
  cpuSeconds: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** `times` prints the shell's own, then its children's, user and system time, as 0m0.123s. */
function childrenCpuSeconds(timesOutput: string): number {
  const children = timesOutput.trim().split('\n').at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(
    ([, minutes, rest]) => Number(minutes) * 60 + Number(rest),
  );
  if (seconds.length !== 2) throw new Error(`cannot read the output of times: ${timesOutput}`);
  return (seconds[0] as number) + (seconds[1] as number);
}

function runOnce(cli: string, args: string[], env: NodeJS.ProcessEnv): Sample {
  const started = performance.now();
  const result = spawnSync(
    'sh',
    ['-c', '"$@" >/dev/null 2>&1; status=$?; times >&2; exit $status', 'sh', process.execPath, cli, ...args],
    { env, encoding: 'utf8' },
  );
  const wallSeconds = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`${cli} ${args.join(' ')} exited ${result.status}`);
  return { wallSeconds, cpuSeconds: childrenCpuSeconds(result.stderr) };
}

async function main() {
  const database = await createTestDatabase('bench_command', { adminUrl: adminUrlFromEnv() });
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn' };
  delete env.NODE_OPTIONS;
  const builds = [{ name: 'this build', cli: CLI }];
  if (baselineCli) builds.push({ name: `baseline (${baselineCli})`, cli: baselineCli });
  const commands = [
    { name: 'flavor list', args: ['flavor', 'list'] },
    { name: '--help', args: ['--help'] },
  ];
  const samples = new Map<string, Sample[]>();
  const loadAtStart = loadavg()[0]?.toFixed(2);
  try {
    runOnce(CLI, ['migrate'], env);
    for (const [index, labels] of ['linux,x64', 'linux,arm64', 'gpu'].entries()) {
      runOnce(CLI, ['flavor', 'add', `bench-${index}`, '--platform', 'github', '--labels', labels], env);
    }
    for (let round = 1; round <= rounds; round += 1) {
      for (const build of roundOrder(builds, round)) {
        for (const command of commands) {
          const key = `${build.name}\t${command.name}`;
          samples.set(key, [...(samples.get(key) ?? []), runOnce(build.cli, command.args, env)]);
        }
      }
      if (round % 5 === 0) log(`round ${round}/${rounds}`);
    }
  } finally {
    await database.drop();
  }
  const lines = [
    `One command from spawn to exit, ${rounds} interleaved runs each; medians`,
    '',
    '| build | command | CPU (user + system) | wall |',
    '|---|---|---:|---:|',
  ];
  for (const build of builds) {
    for (const command of commands) {
      const of = samples.get(`${build.name}\t${command.name}`) ?? [];
      const cpu = quantile(
        of.map((sample) => sample.cpuSeconds),
        0.5,
      );
      const wall = quantile(
        of.map((sample) => sample.wallSeconds),
        0.5,
      );
      lines.push(`| ${build.name} | ${command.name} | ${cpu.toFixed(3)} s | ${wall.toFixed(3)} s |`);
    }
  }
  lines.push(
    '',
    `${cpus().length} CPUs, Node ${process.version}, load average (1 min) ${loadAtStart} at start, ${loadavg()[0]?.toFixed(2)} at end`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
