import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliCommand } from '../src/invocation.js';
import { CLI, type CliResult } from './support.js';
import { useCliWorld } from './world.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const world = useCliWorld('cli_root');
let env: NodeJS.ProcessEnv;
let version: string;
beforeAll(async () => {
  env = world.env;
  ({ version } = JSON.parse(await readFile(join(REPO, 'apps/cli/package.json'), 'utf8')));
});

/** Runs a command line as typed (words split on spaces) in the repository root. */
function typed(line: string, ...args: string[]): Promise<CliResult> {
  const [file = '', ...words] = line.split(' ');
  return new Promise((resolve) => {
    execFile(file, [...words, ...args], { env, cwd: REPO, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

describe('the command `start` tells a newcomer to type', () => {
  it('is the root script at the root of a checkout, however start was launched', () => {
    // `pnpm start` runs the entry point; `pnpm exec runner-planner` runs it through the root's link.
    expect(cliCommand(CLI, REPO)).toBe('pnpm runner-planner');
    const linked = join(REPO, 'node_modules/@runner-planner/cli/dist/main.js');
    expect(cliCommand(linked, REPO)).toBe('pnpm runner-planner');
  });

  it('is node with a path elsewhere in a checkout, and the bare name for an installed copy', () => {
    expect(cliCommand(CLI, join(REPO, 'apps/cli'))).toBe('node dist/main.js');
    expect(cliCommand(CLI, join(REPO, 'apps/gateway'))).toBe(`node ${CLI}`);
    expect(cliCommand('/usr/lib/node_modules/@runner-planner/cli/dist/main.js', '/home/me')).toBe(
      'runner-planner',
    );
  });

  it('runs from the repository root: --version, and an admin command against the database', async () => {
    const command = cliCommand(CLI, REPO);
    const shown = await typed(command, '--version');
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.trim()).toBe(version);

    const listed = await typed(command, 'flavor', 'list', '--json');
    expect(listed.code, listed.stderr).toBe(0);
    // The freshly migrated database has no flavors; pnpm announces the script on stderr, so
    // stdout is the command's own, fit for a pipe.
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it('fails as the CLI does, with its message and exit code, through pnpm', async () => {
    const refused = await typed(cliCommand(CLI, REPO), 'flavor', 'list', '--platform', 'bitbucket');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("option '--platform <platform>' argument 'bitbucket' is invalid");
  });

  it('works as `pnpm exec runner-planner` too: the root depends on the CLI package', async () => {
    const result = await typed('pnpm exec runner-planner', '--version');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });
});
