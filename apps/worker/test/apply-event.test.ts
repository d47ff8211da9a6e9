import { type JobEvent, PayloadError, parseGitHubWorkflowJob } from '@runner-planner/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyJobEvent } from '../src/index.js';
import { githubWorkflowJob, minutesAfterT0, storedJob, useDatabase } from './support.js';

const fixture = useDatabase('worker_apply');
const receivedAt = new Date(minutesAfterT0(50));

function eventOf(payload: unknown): JobEvent {
  const outcome = parseGitHubWorkflowJob(payload, { selfHostedOnly: true, receivedAt });
  if (outcome.kind !== 'job') throw new PayloadError(`not a job event: ${outcome.reason}`);
  return outcome.event;
}

const lifecycle = (id: number) => ({
  queued: eventOf(githubWorkflowJob('queued', { id, startedAt: minutesAfterT0(-1) })),
  started: eventOf(githubWorkflowJob('in_progress', { id, startedAt: minutesAfterT0(1) })),
  completed: eventOf(githubWorkflowJob('completed', { id, startedAt: minutesAfterT0(1) })),
});

async function applyAll(events: JobEvent[]) {
  for (const event of events) {
    await applyJobEvent(fixture.db, event, async () => (event.platform === 'github' ? event.labels : []));
  }
}

describe('applyJobEvent', () => {
  it('records a job through its whole life in order', async () => {
    await fixture.db.addFlavor({
      platform: 'github',
      name: 'x64',
      labels: ['x64'],
      priority: 0,
      isDisabled: false,
      minimumPressure: 0,
    });
    const events = lifecycle(1);
    await applyAll([events.queued]);
    expect(await fixture.db.getPressures('github')).toEqual({ x64: 1 });
    await applyAll([events.started, events.completed]);
    expect(await storedJob(fixture.db, 'github', '1')).toEqual({
      platform: 'github',
      id: '1',
      labels: ['x64'],
      createdAt: new Date(minutesAfterT0(0)),
      startedAt: new Date(minutesAfterT0(1)),
      completedAt: new Date(minutesAfterT0(5)),
      raw: { queued: expect.any(Object), in_progress: expect.any(Object), completed: expect.any(Object) },
      held: false,
      releasedAt: null,
      assigned: true,
    });
    expect(await fixture.db.getPressures('github')).toEqual({ x64: 0 });
  });

  it('ends in the same row for any permutation and repetition of the events (property)', async () => {
    await applyAll(Object.values(lifecycle(1000)));
    const reference = await storedJob(fixture.db, 'github', '1000');
    const incomplete = lifecycle(2000);
    await applyAll([incomplete.queued, incomplete.started]);
    const referenceIncomplete = await storedJob(fixture.db, 'github', '2000');

    let nextId = 10_000;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.constantFrom('queued', 'started', 'completed') as fc.Arbitrary<
            'queued' | 'started' | 'completed'
          >,
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        async (order) => {
          const id = nextId++;
          const events = lifecycle(id);
          await applyAll(order.map((action) => events[action]));
          const row = await storedJob(fixture.db, 'github', String(id));
          const seen = new Set(order);
          if (seen.size === 3) {
            expect(row).toEqual({ ...reference, id: String(id), raw: expect.anything() });
            expect(Object.keys(row?.raw ?? {}).sort()).toEqual(['completed', 'in_progress', 'queued']);
          }
          if (!seen.has('completed') && seen.has('started') && seen.has('queued')) {
            expect(row).toEqual({ ...referenceIncomplete, id: String(id), raw: expect.anything() });
          }
          // Whatever arrived, a completed job stays completed and out of pressure.
          if (seen.has('completed')) expect(row?.completedAt).toEqual(new Date(minutesAfterT0(5)));
          expect(row?.createdAt).toEqual(new Date(minutesAfterT0(0)));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('runs concurrent deliveries of one job’s events to the same row', async () => {
    const events = lifecycle(3);
    await Promise.all(
      [events.completed, events.started, events.queued, events.completed, events.queued].map((e) =>
        applyAll([e]),
      ),
    );
    const row = await storedJob(fixture.db, 'github', '3');
    expect(row?.startedAt).toEqual(new Date(minutesAfterT0(1)));
    expect(row?.completedAt).toEqual(new Date(minutesAfterT0(5)));
    expect(Object.keys(row?.raw ?? {}).sort()).toEqual(['completed', 'in_progress', 'queued']);
  });
});
