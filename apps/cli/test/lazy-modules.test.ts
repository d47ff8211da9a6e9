import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/ports.js';
import { buildProgram } from '../src/program.js';
import { assertBuilt, CLI, type CliResult, cleanEnv } from './support.js';

// `--help` answered in 1.3 s while it loaded MikroORM, BullMQ, zod and the apps with the command
// definitions. Timing it here would be flaky on a busy machine; what it loads is not.
const RECORDER = fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

let dir: string;
let runs = 0;
beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'rp-cli-lazy-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the built CLI; `modules` are the files it loaded, relative to the repository. */
async function cliLoading(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<CliResult & { modules: string[] }> {
  const record = join(dir, `modules-${runs++}.txt`);
  const result = await new Promise<CliResult>((resolve) => {
    execFile(
      process.execPath,
      ['--import', RECORDER, CLI, ...args],
      { env: cleanEnv({ ...extraEnv, RECORD_MODULES_TO: record }), cwd: dir },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
  const lines = (await readFile(record, 'utf8')).split('\n').filter((line) => line !== '');
  const modules = lines
    .filter((line) => !line.startsWith('node:'))
    .map((line) => relative(REPO, line.startsWith('file:') ? fileURLToPath(line) : line));
  return { ...result, modules };
}

/** What building the program may load: commander, the CLI's own files and core's zod-free types. */
function isLight(module: string): boolean {
  const inPackage = (name: string) => module.includes(`${sep}node_modules${sep}${name}${sep}`);
  return (
    module.startsWith(`apps${sep}cli${sep}`) ||
    module === join('packages', 'core', 'dist', 'types.js') ||
    (module.startsWith(`node_modules${sep}`) && inPackage('commander'))
  );
}

describe('runner-planner --help', () => {
  it('lists every command and loads only commander and the command definitions', async () => {
    const result = await cliLoading(['--help']);
    expect(result.code).toBe(0);
    const names = buildProgram().commands.map((command) => command.name());
    expect(names).toEqual(expect.arrayContaining(['start', 'flavor', 'jobs', 'import-original']));
    for (const name of names) expect(result.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(result.modules.filter((module) => !isLight(module))).toEqual([]);
    expect(result.modules).toContain(join('apps', 'cli', 'dist', 'commands', 'admin.js'));
  });

  it('answers a subcommand help, --version and a mistyped option without the heavy modules', async () => {
    const subcommand = await cliLoading(['flavor', 'add', '--help']);
    expect(subcommand.code).toBe(0);
    expect(subcommand.stdout).toContain('--platform <platform>');
    expect(subcommand.stdout).toContain('(choices: "github", "gitlab")');

    const version = await cliLoading(['--version']);
    expect(version.code).toBe(0);
    const { version: expected } = JSON.parse(await readFile(join(REPO, 'apps/cli/package.json'), 'utf8'));
    expect(version.stdout.trim()).toBe(expected);

    const mistyped = await cliLoading(['flavor', 'list', '--platfrom', 'github']);
    expect(mistyped.code).toBe(1);
    expect(mistyped.stderr).toContain("unknown option '--platfrom'");

    for (const run of [subcommand, version, mistyped]) {
      expect(run.modules.filter((module) => !isLight(module))).toEqual([]);
    }
  });

  it('loads the database and domain packages once a database command runs, not the queue or migrator', async () => {
    // Refused after the program's preAction hook and before any connection: no server needed.
    const result = await cliLoading(['report', 'waiting', '--from', '2026-02-01', '--to', '2026-01-01']);
    expect(result.stderr).toContain('--to must be after --from');
    expect(result.code).toBe(1);
    const loaded = result.modules.join('\n');
    for (const name of ['@mikro-orm', 'zod']) expect(loaded).toContain(`node_modules${sep}${name}`);
    expect(loaded).toContain(join('packages', 'database', 'dist'));
    // These took a third of a database command's start-up (1.14 s of CPU, 0.75 s without them).
    for (const name of ['bullmq', 'ioredis', `@mikro-orm${sep}migrations`, 'umzug']) {
      expect(loaded).not.toContain(`node_modules${sep}${name}${sep}`);
    }
  });

  it('loads the queue for a queue command', async () => {
    const closed = await freePort(); // nothing listens on it
    const result = await cliLoading(['dlq', 'list'], { REDIS_URL: `redis://127.0.0.1:${closed}` });
    expect(result.stderr).toContain(`cannot reach Redis at redis://127.0.0.1:${closed}`);
    expect(result.code).toBe(1);
    const loaded = result.modules.join('\n');
    for (const name of ['bullmq', 'ioredis']) expect(loaded).toContain(`node_modules${sep}${name}${sep}`);
  });
});
