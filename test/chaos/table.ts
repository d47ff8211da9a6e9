// Prints the markdown table of the chaos scenarios from their results files:
//   pnpm --filter @runner-planner/e2e chaos:table [full|short]
import { readdir, readFile } from 'node:fs/promises';
import { RESULTS_DIR, type ScenarioFigures } from './harness/scenario.js';

const ORDER = [
  'worker-sigkill',
  'gateway-sigkill',
  'postgres-restart',
  'redis-restart-aof',
  'redis-restart-no-persistence',
  'gitlab-api',
  'scale-out',
];

const run = process.argv[2] ?? 'full';
const dir = `${RESULTS_DIR}${run}/`;
const files = (await readdir(dir).catch(() => [])).filter((name) => name.endsWith('.json'));
if (files.length === 0) {
  console.error(`no results in ${dir}: run pnpm test:chaos first`);
  process.exit(1);
}
const figures: ScenarioFigures[] = await Promise.all(
  files.map(async (name) => JSON.parse(await readFile(`${dir}${name}`, 'utf8')) as ScenarioFigures),
);
figures.sort((a, b) => rank(a.scenario) - rank(b.scenario));

const number = (n: number) => n.toLocaleString('en-US');
console.log(
  '| scenario | jobs | events sent | accepted (2xx) | HTTP attempts | lost | duplicated | converged after stream end |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const f of figures) {
  const converge = f.convergeSeconds === null ? 'never (expected)' : `${f.convergeSeconds.toFixed(1)} s`;
  const verdict = f.expectsLoss ? '' : f.lost === 0 && f.duplicated === 0 && f.converged ? '' : ' **FAIL**';
  console.log(
    `| ${f.title}${verdict} | ${number(f.jobs)} | ${number(f.send.events)} | ${number(f.send.accepted)} | ${number(f.send.attempts)} | ${number(f.lost)} | ${number(f.duplicated)} | ${converge} |`,
  );
}
console.log(
  `\nRate ${figures
    .map((f) => f.rate)
    .filter((r, i, all) => all.indexOf(r) === i)
    .join('/')} events/s; runs finished ${figures
    .map((f) => f.finishedAt)
    .sort()
    .at(-1)}.`,
);

function rank(scenario: string): number {
  const index = ORDER.indexOf(scenario);
  return index === -1 ? ORDER.length : index;
}
