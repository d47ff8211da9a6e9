import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PlannerClient } from '../src/index.js';
import { ADMIN_TOKEN, usePlanner } from './planner-fixture.js';
import { job, sleep } from './support.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const exampleSource = fileURLToPath(new URL('../examples/autoscaler.ts', import.meta.url));
const builtExample = fileURLToPath(new URL('../dist/examples/autoscaler.js', import.meta.url));
const readme = fileURLToPath(new URL('../README.md', import.meta.url));

const fixture = usePlanner('pressure_example');
const children: ChildProcess[] = [];

beforeAll(async () => {
  // The example runs as a user runs it: compiled, importing the package by its name (`dist/`).
  // TypeScript 7 exports no `bin/tsc`: find the command through the package's own `bin`.
  const manifest = createRequire(import.meta.url).resolve('typescript/package.json');
  const { bin } = JSON.parse(await readFile(manifest, 'utf8')) as { bin: { tsc: string } };
  const tsc = join(dirname(manifest), bin.tsc);
  for (const project of ['tsconfig.build.json', 'tsconfig.examples.json']) {
    await promisify(execFile)(process.execPath, [tsc, '-p', project], { cwd: packageDir });
  }
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function runExample(env: Record<string, string>) {
  const child = spawn(process.execPath, [builtExample], {
    cwd: packageDir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { child, exited, lines: () => stdout.split('\n').filter(Boolean), stderr: () => stderr };
}

describe('the README autoscaler example', () => {
  it('is quoted verbatim in the README', async () => {
    const [source, text] = await Promise.all([readFile(exampleSource, 'utf8'), readFile(readme, 'utf8')]);
    expect(text).toContain(`\`\`\`ts\n${source}\`\`\``);
  });

  it('runs as written: prints the desired runners as pressure changes, and stops on SIGTERM', async () => {
    const admin = new PlannerClient({ baseUrl: fixture.planner.url, token: ADMIN_TOKEN });
    await admin.createFlavor({ name: 'small', platform: 'github', labels: ['small'] });
    await admin.createFlavor({ name: 'large', platform: 'github', labels: ['large'] });
    const { token } = await admin.createToken('example-autoscaler');

    const example = runExample({ PLANNER_URL: fixture.planner.url, PLANNER_TOKEN: token, FLAVOR: 'small' });
    await expect.poll(example.lines, { timeout: 10_000 }).toEqual(['small: want 0 runner(s)']);
    await fixture.writer.addJob(job('1', ['small']));
    await fixture.writer.addJob(job('2', ['small']));
    await fixture.writer.addJob(job('3', ['large']));
    await expect.poll(example.lines, { timeout: 10_000 }).toContain('small: want 2 runner(s)');
    // Heartbeats (every second here) repeat the value: no more lines until it changes.
    const printed = example.lines().length;
    await sleep(2_200);
    expect(example.lines()).toHaveLength(printed);
    expect(example.lines().every((line) => line.startsWith('small: '))).toBe(true);
    await fixture.writer.updateJobCompleted('github', '1', new Date());
    await expect.poll(() => example.lines().at(-1), { timeout: 10_000 }).toBe('small: want 1 runner(s)');

    example.child.kill('SIGTERM');
    const [code] = await example.exited;
    expect(code).toBe(0);
    expect(example.stderr()).toBe('');
  });

  it('follows every flavor when FLAVOR is not set', async () => {
    const admin = new PlannerClient({ baseUrl: fixture.planner.url, token: ADMIN_TOKEN });
    await admin.createFlavor({ name: 'small', platform: 'github', labels: ['small'], minimumPressure: 1 });
    await admin.createFlavor({ name: 'lab', platform: 'gitlab', labels: [] });
    const example = runExample({ PLANNER_URL: fixture.planner.url, PLANNER_TOKEN: ADMIN_TOKEN });
    await expect
      .poll(() => example.lines().sort(), { timeout: 10_000 })
      .toEqual(['lab: want 0 runner(s)', 'small: want 1 runner(s)']);
    example.child.kill('SIGINT');
    expect((await example.exited)[0]).toBe(0);
  });

  it('says what is missing without PLANNER_URL and PLANNER_TOKEN', async () => {
    const example = runExample({});
    const [code] = await example.exited;
    expect(code).not.toBe(0);
    expect(example.stderr()).toMatch(/set PLANNER_URL and PLANNER_TOKEN/);
  });
});
