import type * as Core from '@runner-planner/core';
import type * as Database from '@runner-planner/database';
import type * as WaitingReport from './waiting-report.js';

/*
 * What the command actions use from heavy modules (zod, MikroORM): loaded by `loadDeferred()`,
 * which the program runs before any action, never while it is being built, so `--help` and a
 * mistyped option answer in a tenth of the time (1.3 s before). A command file imports these
 * bindings instead of the packages; they are ES live bindings, undefined until loaded: use them
 * inside actions only, never while registering a command (test/lazy-modules.test.ts checks that
 * building the program loads none of these modules). BullMQ and ioredis are not among them: the
 * commands that use the queue import it themselves, and the database commands never load it.
 */

export let explanationToJson: typeof Core.explanationToJson;
export let flavorToJson: typeof Core.flavorToJson;
export let jobToJson: typeof Core.jobToJson;
export let NEVER_RECORDED: typeof Core.NEVER_RECORDED;

export let ExistError: typeof Database.ExistError;
export let InvalidInputError: typeof Database.InvalidInputError;
export let NotExistError: typeof Database.NotExistError;
export let migrate: typeof Database.migrate;

export let waitingReport: typeof WaitingReport.waitingReport;

let loading: Promise<void> | undefined;

export function loadDeferred(): Promise<void> {
  loading ??= (async () => {
    const [core, database, report] = await Promise.all([
      import('@runner-planner/core'),
      import('@runner-planner/database'),
      import('./waiting-report.js'),
    ]);
    ({ explanationToJson, flavorToJson, jobToJson, NEVER_RECORDED } = core);
    ({ ExistError, InvalidInputError, NotExistError, migrate } = database);
    ({ waitingReport } = report);
  })();
  return loading;
}
