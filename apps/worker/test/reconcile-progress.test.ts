import type { FakeGitHub, FakeGitLab } from '@runner-planner/testkit';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ReconcileOptions, type ReconcileProgress, reconcileOnce } from '../src/index.js';
import { MINUTE, useReconcileWorld } from './reconcile-world.js';

const world = useReconcileWorld('reconcile_progress');
const { fixture } = world;
let github: FakeGitHub;
let gitlab: FakeGitLab;
beforeAll(() => {
  ({ github, gitlab } = world);
});

function options(overrides: Partial<ReconcileOptions>): ReconcileOptions {
  return world.options({
    githubHooks: [
      { kind: 'repo', owner: 'octo', repo: 'repo', hookId: 7 },
      { kind: 'org', org: 'octo-org', hookId: 8 },
    ],
    batchSize: 2,
    ...overrides,
  }).options;
}

describe('reconcileOnce: progress', () => {
  it('reports done of total for the failed deliveries, then for the stale jobs page by page', async () => {
    const failed = { status: 'Invalid HTTP Response: 503', status_code: 503 };
    github.addDelivery('repos/octo/repo', 7, failed);
    github.addDelivery('repos/octo/repo', 7, failed);
    github.addDelivery('repos/octo/repo', 7, {});
    github.addDelivery('orgs/octo-org', 8, failed);
    // Five stale jobs (three GitHub, two GitLab) read two at a time, and one fresh job.
    const createdAt = new Date(Date.now() - 60 * MINUTE);
    for (const id of [1, 2, 3]) {
      github.setJob('octo/repo', { id, status: 'completed', completed_at: new Date().toISOString() });
      await fixture.db.addJob({
        platform: 'github',
        id: String(id),
        labels: [],
        createdAt,
        startedAt: null,
        completedAt: null,
        raw: { queued: { repository: { full_name: 'octo/repo' } } },
      });
    }
    for (const id of [4, 5]) {
      gitlab.setJob(380, { id, tag_list: [], status: 'running', started_at: new Date().toISOString() });
      await fixture.db.addJob({
        platform: 'gitlab',
        id: String(id),
        labels: [],
        createdAt,
        startedAt: null,
        completedAt: null,
        raw: { pending: { project_id: 380 } },
      });
    }
    await fixture.sql.query(`UPDATE job SET updated_at = now() - interval '1 hour'`);
    await fixture.db.addJob({
      platform: 'github',
      id: '6',
      labels: [],
      createdAt: new Date(),
      startedAt: null,
      completedAt: null,
      raw: { queued: { repository: { full_name: 'octo/repo' } } },
    });

    const seen: ReconcileProgress[] = [];
    const report = await reconcileOnce(options({ onProgress: (progress) => seen.push({ ...progress }) }));
    expect(report.redelivery).toEqual({ failed: 3, redelivered: 3, errors: 0 });
    expect(report.stale.checked).toBe(5);

    const redelivery = seen.filter((progress) => progress.stage === 'redelivery');
    const stale = seen.filter((progress) => progress.stage === 'stale');
    // Every redelivery event comes before the stale check starts.
    expect(seen.slice(0, redelivery.length)).toEqual(redelivery);
    // The repo hook's two failures are found first, then the org hook's one.
    expect(redelivery.map(({ done, total }) => [done, total])).toEqual([
      [0, 2],
      [1, 2],
      [2, 2],
      [2, 3],
      [3, 3],
    ]);
    // Pages of two: the total grows 2 → 4 → 5 and each job is counted once when done.
    expect([...new Set(stale.map((progress) => progress.total))]).toEqual([2, 4, 5]);
    expect(stale.at(-1)).toEqual({ stage: 'stale', done: 5, total: 5 });
    expect(
      stale.filter((progress, i) => i > 0 && progress.done === (stale[i - 1]?.done ?? 0) + 1),
    ).toHaveLength(5);
    for (const progress of seen) expect(progress.done).toBeLessThanOrEqual(progress.total);
  });

  it('a pass that finds nothing to do reports nothing', async () => {
    await fixture.sql.reset();
    const seen: ReconcileProgress[] = [];
    const report = await reconcileOnce(
      options({ githubHooks: [], onProgress: (progress) => seen.push(progress) }),
    );
    expect(report.ran).toBe(true);
    expect(seen).toEqual([]);
  });
});
