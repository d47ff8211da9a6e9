import { DEFAULT_STALE_AFTER_MS } from '@runner-planner/core';
import { candidateFlavors, flavorFitsJob, pressureOf } from '@runner-planner/core/reference-model';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Flavor } from '../src/index.js';
import { job, recountedPressures, useDatabase } from './support.js';

const fixture = useDatabase('assignment_property');

const LABELS = ['x64', 'ARM64', 'large', 'gpu'];
/** A day past the default staleness window: far from its edge, whatever the test's pace. */
const STALE_AGE_MS = DEFAULT_STALE_AFTER_MS + 24 * 60 * 60 * 1000;
const arbLabels = fc
  .subarray(LABELS)
  .chain((labels) => fc.tuple(...labels.map((label) => fc.constantFrom(label, label.toUpperCase()))));
const arbFlavors = fc
  .uniqueArray(
    fc.record({
      platform: fc.constantFrom('github', 'gitlab'),
      name: fc.stringMatching(/^[a-z]{1,6}$/),
      labels: arbLabels,
      priority: fc.integer({ min: 0, max: 2 }),
      isDisabled: fc.boolean(),
      minimumPressure: fc.integer({ min: 0, max: 2 }),
      runUntagged: fc.option(fc.boolean(), { nil: undefined }),
    }),
    { selector: (flavor) => flavor.name, maxLength: 6 },
  )
  .map((flavors) =>
    // GitLab's run_untagged: only on GitLab flavors, and never false for one without labels.
    flavors.map(({ runUntagged, ...flavor }): Flavor => {
      if (flavor.platform !== 'gitlab') return flavor;
      if (runUntagged === false && flavor.labels.length === 0) return flavor;
      return runUntagged === undefined ? flavor : { ...flavor, runUntagged };
    }),
  );
const arbJobs = fc.array(
  fc.record({
    platform: fc.constantFrom('github', 'gitlab'),
    labels: arbLabels,
    completed: fc.boolean(),
    held: fc.boolean(),
  }),
  { maxLength: 12 },
);

const arbOperations = fc.array(
  fc.oneof(
    fc.record({
      kind: fc.constant('addJob' as const),
      platform: fc.constantFrom('github', 'gitlab'),
      labels: arbLabels,
      held: fc.boolean(),
      // Created past the staleness window: it counts nowhere, unless released (held, then waiting) now.
      stale: fc.boolean(),
    }),
    fc.record({
      kind: fc.constantFrom('complete' as const, 'start' as const, 'wait' as const),
      platform: fc.constantFrom('github', 'gitlab'),
      index: fc.nat(),
    }),
    fc.record({
      kind: fc.constantFrom('disable' as const, 'enable' as const, 'delete' as const),
      index: fc.nat(),
    }),
  ),
  { maxLength: 15 },
);

const reset = () => fixture.sql.reset();

async function allFlavors(): Promise<Flavor[]> {
  return [...(await fixture.db.listFlavors('github')), ...(await fixture.db.listFlavors('gitlab'))];
}

describe('assignment and pressure in SQL agree with core’s reference model', () => {
  it('assigns each new job one of the matcher’s candidates, or none exactly when it has none', async () => {
    await fc.assert(
      fc.asyncProperty(arbFlavors, arbJobs, async (flavors, jobs) => {
        await reset();
        for (const flavor of flavors) await fixture.db.addFlavor(flavor);
        for (const [i, spec] of jobs.entries()) {
          await fixture.db.addJob(
            job(String(i), {
              platform: spec.platform,
              labels: spec.labels,
              completedAt: spec.completed ? new Date() : null,
              held: spec.held,
            }),
          );
        }
        const stored = await allFlavors();
        for (const platform of ['github', 'gitlab']) {
          for (const row of await fixture.db.listJobs(platform)) {
            const candidates = candidateFlavors(stored, row).map((f) => f.name);
            if (candidates.length === 0) expect(row.assignedFlavor).toBeNull();
            else expect(candidates).toContain(row.assignedFlavor);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('keeps every incomplete job on a valid flavor (held ones on none) and pressure equal to a recount through any sequence of changes', async () => {
    await fc.assert(
      fc.asyncProperty(arbFlavors, arbOperations, async (flavors, operations) => {
        await reset();
        for (const flavor of flavors) await fixture.db.addFlavor(flavor);
        let nextId = 0;
        for (const operation of operations) {
          const target =
            flavors[operation.kind === 'addJob' ? 0 : operation.index % Math.max(flavors.length, 1)];
          if (operation.kind === 'addJob') {
            await fixture.db.addJob(
              job(String(nextId++), {
                platform: operation.platform,
                labels: operation.labels,
                held: operation.held,
                createdAt: operation.stale ? new Date(Date.now() - STALE_AGE_MS) : new Date(),
              }),
            );
          } else if (
            operation.kind === 'complete' ||
            operation.kind === 'start' ||
            operation.kind === 'wait'
          ) {
            const { platform } = operation;
            const open = await fixture.db.listJobs(platform, { onlyNotCompleted: true });
            const chosen = open[operation.index % Math.max(open.length, 1)];
            if (chosen === undefined) continue;
            if (operation.kind === 'complete')
              await fixture.db.updateJobCompleted(platform, chosen.id, new Date());
            else if (operation.kind === 'start')
              await fixture.db.updateJobStarted(platform, chosen.id, new Date());
            else await fixture.db.updateJobWaiting(platform, chosen.id);
          } else if (target) {
            const exists = (await allFlavors()).some((f) => f.name === target.name);
            if (operation.kind === 'delete') await fixture.db.deleteFlavor(target.platform, target.name);
            else if (exists && operation.kind === 'disable')
              await fixture.db.disableFlavor(target.platform, target.name);
            else if (exists) await fixture.db.enableFlavor(target.platform, target.name);
          }
        }

        const stored = await allFlavors();
        const now = new Date();
        for (const platform of ['github', 'gitlab']) {
          const jobs = await fixture.db.listJobs(platform, { limit: 1000 });
          for (const row of jobs.filter((j) => j.completedAt === null)) {
            const candidates = candidateFlavors(stored, row);
            const assigned = stored.find((f) => f.name === row.assignedFlavor);
            if (candidates.length === 0) expect(row.assignedFlavor).toBeNull();
            else {
              expect(assigned, `job ${row.id} left unassigned`).toBeDefined();
              expect(assigned && flavorFitsJob(assigned, row)).toBe(true);
            }
          }
          const expected = Object.fromEntries(
            stored.filter((f) => f.platform === platform).map((f) => [f.name, pressureOf(f, jobs, now)]),
          );
          expect(await fixture.db.getPressures(platform)).toEqual(expected);
          expect(await recountedPressures(fixture, platform, DEFAULT_STALE_AFTER_MS)).toEqual(expected);
        }
      }),
      { numRuns: 40 },
    );
  });
});
