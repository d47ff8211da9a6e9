import type { FlavorVerdict, Job, JobExplanation } from '@runner-planner/core';
import { PLATFORMS } from '@runner-planner/core/types';
import type { Database, Flavor } from '@runner-planner/database';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliError, printTable, withDatabase } from '../context.js';
import {
  ExistError,
  explanationToJson,
  flavorToJson,
  InvalidInputError,
  jobToJson,
  NEVER_RECORDED,
  NotExistError,
} from '../deferred.js';
import { printSafeJson, safeJson, shown } from './terminal.js';

const platformOption = () => new Option('--platform <platform>', 'github or gitlab').choices(PLATFORMS);

export function integer(name: string, min = 0) {
  return (value: string) => {
    if (!/^-?\d+$/.test(value) || Number(value) < min) {
      throw new InvalidArgumentError(`${name} must be a whole number${min === 0 ? ' ≥ 0' : ` ≥ ${min}`}`);
    }
    return Number(value);
  };
}

async function flavorNamed(db: Database, name: string): Promise<Flavor> {
  try {
    return await db.getFlavor(name);
  } catch (error) {
    if (error instanceof NotExistError) throw new CliError(`flavor "${shown(name)}" does not exist`);
    throw error;
  }
}

/** GitLab's run_untagged; `-` for other platforms, which have no such setting. */
const untaggedCell = (flavor: Flavor) =>
  flavor.runUntagged === undefined ? '-' : flavor.runUntagged ? 'yes' : 'no';

function printFlavors(flavors: Flavor[], json: boolean) {
  if (json) return printSafeJson(flavors.map(flavorToJson));
  printTable(
    ['NAME', 'PLATFORM', 'LABELS', 'PRIORITY', 'ENABLED', 'MIN PRESSURE', 'RUN UNTAGGED'],
    flavors.map((f) => [
      shown(f.name),
      shown(f.platform),
      shown(f.labels.join(',')),
      String(f.priority),
      f.isDisabled ? 'no' : 'yes',
      String(f.minimumPressure),
      untaggedCell(f),
    ]),
  );
}

export function registerFlavor(program: Command): void {
  const flavor = program.command('flavor').description('manage runner flavors');
  flavor
    .command('add <name>')
    .description('add a flavor')
    .addOption(platformOption().makeOptionMandatory())
    .requiredOption('--labels <labels>', 'comma-separated labels the flavor covers')
    .option('--priority <n>', 'higher wins among flavors covering a job', integer('--priority'), 0)
    .option('--minimum-pressure <n>', 'pressure never reported below this', integer('--minimum-pressure'), 0)
    .option('--disabled', 'add it disabled', false)
    .option(
      '--run-untagged',
      'gitlab only: take jobs without tags too (default: only a flavor without labels does)',
    )
    .option('--no-run-untagged', 'gitlab only: take no jobs without tags (needs labels)')
    .option('--json', 'print the flavor as JSON')
    .action(async (name: string, options) => {
      const labels = String(options.labels)
        .split(',')
        .map((label) => label.trim())
        .filter((label) => label !== '');
      const value: Flavor = {
        name,
        platform: options.platform,
        labels,
        priority: options.priority,
        isDisabled: options.disabled,
        minimumPressure: options.minimumPressure,
        // Neither flag given: the domain's default (a flavor without labels takes untagged jobs).
        ...(options.runUntagged === undefined ? {} : { runUntagged: options.runUntagged }),
      };
      await withDatabase(async (db) => {
        try {
          await db.addFlavor(value);
        } catch (error) {
          if (error instanceof ExistError) throw new CliError(`flavor "${shown(name)}" already exists`);
          throw error;
        }
        const added = await db.getFlavor(name);
        if (options.json) printSafeJson(flavorToJson(added));
        else process.stdout.write(`flavor "${shown(name)}" added\n`);
      });
    });
  flavor
    .command('list')
    .description('list flavors')
    .addOption(platformOption())
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withDatabase(async (db) => {
        const platforms = options.platform ? [options.platform as string] : [...PLATFORMS];
        const flavors = (await Promise.all(platforms.map((platform) => db.listFlavors(platform)))).flat();
        printFlavors(flavors, options.json === true);
      });
    });
  flavor
    .command('get <name>')
    .description('show one flavor')
    .option('--json', 'print JSON')
    .action(async (name: string, options) => {
      await withDatabase(async (db) => printFlavors([await flavorNamed(db, name)], options.json === true));
    });
  for (const [verb, description] of [
    ['enable', 'enable a flavor: it takes jobs again'],
    ['disable', 'disable a flavor: its jobs move to the next best flavor'],
    ['delete', 'delete a flavor: its jobs move to the next best flavor'],
  ] as const) {
    flavor
      .command(`${verb} <name>`)
      .description(description)
      .action(async (name: string) => {
        await withDatabase(async (db) => {
          const found = await flavorNamed(db, name);
          if (verb === 'enable') await db.enableFlavor(found.platform, name);
          else if (verb === 'disable') await db.disableFlavor(found.platform, name);
          else await db.deleteFlavor(found.platform, name);
          process.stdout.write(`flavor "${shown(name)}" ${verb}d\n`);
        });
      });
  }
}

export function registerToken(program: Command): void {
  const token = program.command('token').description('manage planner API tokens');
  token
    .command('create <name>')
    .description('create a token; it is printed once and cannot be shown again')
    .option('--read-only', 'a token that reads pressure, flavors and jobs, and is refused (403) any change')
    .option('--json', 'print {name, token} as JSON')
    .action(async (name: string, options) => {
      await withDatabase(async (db) => {
        let bytes: Uint8Array;
        try {
          bytes = await db.createAuthToken(name, { scope: options.readOnly ? 'read-only' : 'general' });
        } catch (error) {
          if (error instanceof ExistError) throw new CliError(`token "${shown(name)}" already exists`);
          throw error;
        }
        // The planner's encoding of general tokens: base64url without padding.
        const value = Buffer.from(bytes).toString('base64url');
        if (options.json) printSafeJson({ name, token: value });
        else process.stdout.write(`${value}\n`);
      });
    });
  token
    .command('list')
    .description('list token names, read-only ones marked so')
    .option('--json', 'print {names: [...]} as JSON')
    .action(async (options) => {
      await withDatabase(async (db) => {
        const tokens = await db.listAuthTokenInfos();
        if (options.json) printSafeJson({ names: tokens.map((token) => token.name) });
        else if (tokens.length > 0) {
          const lines = tokens.map(
            ({ name, scope }) => `${shown(name)}${scope === 'read-only' ? ' (read-only)' : ''}`,
          );
          process.stdout.write(`${lines.join('\n')}\n`);
        }
      });
    });
  token
    .command('delete <name>')
    .description('delete a token')
    .action(async (name: string) => {
      await withDatabase(async (db) => {
        if (!(await db.listAuthTokens()).includes(name))
          throw new CliError(`token "${shown(name)}" does not exist`);
        await db.deleteAuthToken(name);
        process.stdout.write(`token "${shown(name)}" deleted\n`);
      });
    });
}

async function pressures(db: Database, flavor: string | undefined): Promise<Record<string, number>> {
  if (flavor !== undefined) {
    const found = await flavorNamed(db, flavor);
    return db.getPressures(found.platform, flavor);
  }
  const all = await Promise.all(PLATFORMS.map((platform) => db.getPressures(platform)));
  return Object.assign({}, ...all) as Record<string, number>;
}

export function registerPressure(program: Command): void {
  program
    .command('pressure [flavor]')
    .description('pressure of one flavor, or of every flavor')
    .option('--watch', 'print again whenever a pressure changes (Ctrl-C to stop)')
    .option('--json', 'print {"<flavor>": n} as one JSON line')
    .action(async (flavor: string | undefined, options) => {
      const print = (values: Record<string, number>) => {
        if (options.json || options.watch) process.stdout.write(`${safeJson(values, 0)}\n`);
        else
          printTable(
            ['FLAVOR', 'PRESSURE'],
            Object.entries(values).map(([name, n]) => [shown(name), String(n)]),
          );
      };
      await withDatabase(async (db) => {
        if (!options.watch) return print(await pressures(db, flavor));
        const subscription = db.subscribePressureChanges();
        const stop = () => void subscription.close();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        let last = '';
        const show = async () => {
          const values = await pressures(db, flavor);
          const text = JSON.stringify(values);
          if (text !== last) print(values);
          last = text;
        };
        await show();
        for await (const _ of subscription) await show();
      });
    });
}

function requireKnownPlatform(platform: string): void {
  if (!(PLATFORMS as readonly string[]).includes(platform)) {
    throw new CliError(`unknown platform "${shown(platform)}" (github or gitlab)`);
  }
}

const jobNotRecorded = (platform: string, id: string) =>
  new CliError(`job ${shown(platform)}/${shown(id)} does not exist: ${NEVER_RECORDED}`);

async function jobNamed(db: Database, platform: string, id: string): Promise<Job> {
  requireKnownPlatform(platform);
  const [job] = id === '' ? [] : await db.listJobs(platform, { withId: id, limit: 1 });
  if (job === undefined) throw jobNotRecorded(platform, id);
  return job;
}

/** The job explained against every flavor, read once; the same errors as `jobNamed`. */
async function explainedJob(db: Database, platform: string, id: string): Promise<JobExplanation> {
  requireKnownPlatform(platform);
  try {
    return await db.explainJob(platform, id);
  } catch (error) {
    // An empty id is no job anyone recorded, as `jobs get` says too.
    if (error instanceof NotExistError || error instanceof InvalidInputError)
      throw jobNotRecorded(platform, id);
    throw error;
  }
}

function verdictWords(verdict: FlavorVerdict, assignedFlavor: string | null): string {
  switch (verdict.refusal) {
    case null:
      return verdict.flavor === assignedFlavor ? 'fits (assigned)' : 'fits';
    case 'missing-labels':
      return `lacks labels ${shown(verdict.missingLabels.join(', '))}`;
    case 'disabled':
      return 'disabled';
    case 'untagged':
      return 'takes no untagged jobs';
    case 'other-platform':
      return 'other platform';
    case 'lower-priority':
      return 'lower priority';
  }
}

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('inspect recorded jobs');
  jobs
    .command('list')
    .description('jobs of a platform, oldest first')
    .addOption(platformOption().default('github'))
    .option('--limit <n>', 'at most this many (0: the default limit)', integer('--limit'), 0)
    .option('--not-completed', 'only jobs that are not completed')
    .option('--json', 'print JSON')
    .action(async (options) => {
      await withDatabase(async (db) => {
        const list = await db.listJobs(options.platform, {
          limit: options.limit,
          onlyNotCompleted: options.notCompleted === true,
        });
        if (options.json) return printSafeJson(list.map(jobToJson));
        printTable(
          ['PLATFORM', 'ID', 'FLAVOR', 'CREATED', 'STARTED', 'COMPLETED', 'LABELS'],
          list.map((job) => [
            shown(job.platform),
            shown(job.id),
            shown(job.assignedFlavor ?? '-'),
            job.createdAt.toISOString(),
            job.startedAt?.toISOString() ?? '-',
            job.completedAt?.toISOString() ?? '-',
            shown(job.labels.join(',')),
          ]),
        );
      });
    });
  jobs
    .command('get <platform> <id>')
    .description('one job, as JSON')
    .action(async (platform: string, id: string) => {
      await withDatabase(async (db) => printSafeJson(jobToJson(await jobNamed(db, platform, id))));
    });
  jobs
    .command('why <platform> <id>')
    .description('why a job is (not) picked up: its phase, and every flavor that could or could not take it')
    .option('--json', 'print the JSON of the planner route GET /api/jobs/{platform}/{id}/why')
    .action(async (platform: string, id: string, options) => {
      await withDatabase(async (db) => {
        const explanation = await explainedJob(db, platform, id);
        if (options.json) return printSafeJson(explanationToJson(explanation));
        const labels = explanation.labels.length === 0 ? 'none' : shown(explanation.labels.join(', '));
        process.stdout.write(
          `${shown(platform)} job ${shown(id)}: ${shown(explanation.summary)}\nlabels: ${labels}\n\n`,
        );
        if (explanation.flavors.length === 0) {
          process.stdout.write('no flavors at all: add one with runner-planner flavor add\n');
          return;
        }
        printTable(
          ['FLAVOR', 'PLATFORM', 'PRIORITY', 'VERDICT'],
          explanation.flavors.map((verdict) => [
            shown(verdict.flavor),
            shown(verdict.platform),
            String(verdict.priority),
            verdictWords(verdict, explanation.assignedFlavor),
          ]),
        );
      });
    });
}
