import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';
import { sendGitHub } from '../support/webhooks.js';

const system = useSystem('e2e_order');
let gateway: AppProcess;

beforeAll(async () => {
  gateway = await system.start('gateway');
  await system.start('worker', { WORKER_CONCURRENCY: '8' });
  await system.db.addFlavor({
    platform: 'github',
    name: 'large',
    labels: ['large'],
    priority: 1,
    isDisabled: false,
    minimumPressure: 0,
  });
});

type Action = 'queued' | 'in_progress' | 'completed';

/** An hour ago, to the second: jobs must be recent or they fall out of the staleness window. */
const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString().replace('.000Z', 'Z');

function payload(id: number, action: Action) {
  return {
    action,
    workflow_job: {
      id,
      run_id: 7,
      status: action,
      conclusion: action === 'completed' ? 'success' : null,
      labels: ['self-hosted', 'Large'],
      created_at: at(0),
      started_at: action === 'queued' ? at(-60) : at(2),
      completed_at: action === 'completed' ? at(9) : null,
    },
  };
}

/** The row each set of delivered actions must end in, whatever their order and repetition. */
function expectedRow(id: number, actions: Set<Action>) {
  return {
    platform: 'github',
    id: String(id),
    labels: ['large'],
    createdAt: new Date(at(0)),
    startedAt: actions.has('in_progress') || actions.has('completed') ? new Date(at(2)) : null,
    completedAt: actions.has('completed') ? new Date(at(9)) : null,
    raw: Object.fromEntries([...actions].sort().map((action) => [action, payload(id, action)])),
    held: false,
    releasedAt: null,
  };
}

describe('order and duplicates through gateway → queue → worker', () => {
  it('any permutation with repetitions of a job’s events ends in the same row (property)', async () => {
    let nextId = 900_000;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            action: fc.constantFrom<Action>('queued', 'in_progress', 'completed'),
            // A forge redelivery reuses the delivery id; a repeated event from the forge does not.
            redelivery: fc.boolean(),
          }),
          { minLength: 1, maxLength: 7 },
        ),
        async (sends) => {
          const id = nextId++;
          const deliveries = new Map<Action, string>();
          for (const send of sends) {
            const previous = deliveries.get(send.action);
            const delivery = send.redelivery && previous ? previous : randomUUID();
            deliveries.set(send.action, delivery);
            const response = await sendGitHub(gateway.url, payload(id, send.action), { delivery });
            expect(response.status).toBe(202);
          }
          await system.drained();
          const [row] = await system.db.listJobs('github', { withId: String(id) });
          const actions = new Set(sends.map((send) => send.action));
          const { assignedFlavor, ...rest } = row ?? { assignedFlavor: undefined };
          expect(rest).toEqual(expectedRow(id, actions));
          // An open job counts against its flavor. A completed one keeps the flavor it counted
          // against while open, or none if the completion was the first event processed: that
          // depends on arrival order, but no pressure does.
          if (actions.has('completed')) expect([null, 'large']).toContain(assignedFlavor);
          else expect(assignedFlavor).toBe('large');
        },
      ),
      { numRuns: 25 },
    );
    const pressure = await system.db.getPressures('github');
    const open = await system.db.listJobs('github', { onlyNotCompleted: true, limit: 1000 });
    expect(pressure).toEqual({ large: open.length });
  });
});
