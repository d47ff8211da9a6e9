import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Database } from '@runner-planner/database';
import { createTestDatabase, type TestDatabase } from '@runner-planner/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { assertBuilt, CLI, cleanEnv, runCli } from './support.js';

let database: TestDatabase;
let cwd: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  assertBuilt();
  database = await createTestDatabase('cli-watch');
  cwd = await mkdtemp(join(tmpdir(), 'rp-cli-watch-'));
  env = cleanEnv({ DATABASE_URL: database.url });
  expect((await runCli(['migrate'], { env, cwd })).code).toBe(0);
  const added = await runCli(['flavor', 'add', 'w', '--platform', 'gitlab', '--labels', 'w'], { env, cwd });
  expect(added.code, added.stderr).toBe(0);
});

afterAll(async () => {
  await database?.drop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

it('pressure --watch prints a line per change and exits 0 on Ctrl-C', async () => {
  const child = spawn(process.execPath, [CLI, 'pressure', 'w', '--watch'], { cwd, env });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (text: string) => {
    for (let waited = 0; !out.includes(text); waited += 100) {
      if (waited > 30_000) throw new Error(`no ${text} in ${out}`);
      await sleep(100);
    }
  };
  await waitFor('{"w":0}');
  const db = await Database.connect(database.url);
  try {
    await db.addJob({
      platform: 'gitlab',
      id: '1',
      labels: ['w'],
      createdAt: new Date(),
      startedAt: null,
      completedAt: null,
      raw: {},
    });
  } finally {
    await db.close();
  }
  await waitFor('{"w":1}');
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(out).toBe('{"w":0}\n{"w":1}\n');
});
