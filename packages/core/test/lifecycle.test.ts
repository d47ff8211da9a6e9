import { describe, expect, it } from 'vitest';
import {
  GITHUB_STATUSES,
  GITLAB_STATUSES,
  isDemand,
  latestStatus,
  phaseOfStatus,
  statusMeaning,
} from '../src/index.js';

// The tables are docs/pressure.md's; a change here must change the document too.
describe('the truth model tables', () => {
  it('GitLab: only pending, running and canceling are demand', () => {
    const demand = Object.entries(GITLAB_STATUSES)
      .filter(([, meaning]) => isDemand(meaning.phase))
      .map(([status]) => status)
      .sort();
    expect(demand).toEqual(['canceling', 'pending', 'running']);
    expect(
      [
        'created',
        'manual',
        'scheduled',
        'waiting_for_resource',
        'preparing',
        'waiting_for_callback',
        'skipped',
      ].map((status) => phaseOfStatus('gitlab', status)),
    ).toEqual(Array(7).fill('held'));
    expect(['success', 'failed', 'canceled'].map((status) => phaseOfStatus('gitlab', status))).toEqual([
      'ended',
      'ended',
      'ended',
    ]);
  });

  it('GitHub: queued and in_progress are demand; waiting, requested and pending are held', () => {
    expect(Object.fromEntries(Object.entries(GITHUB_STATUSES).map(([s, m]) => [s, m.phase]))).toEqual({
      requested: 'held',
      pending: 'held',
      waiting: 'held',
      queued: 'waiting',
      in_progress: 'running',
      completed: 'ended',
    });
  });

  it('knows nothing of other platforms, unknown statuses or inherited names', () => {
    expect(phaseOfStatus('bitbucket', 'pending')).toBeUndefined();
    expect(phaseOfStatus('gitlab', 'PENDING')).toBeUndefined();
    expect(statusMeaning('gitlab', 'constructor')).toBeUndefined();
    expect(statusMeaning('__proto__', 'pending')).toBeUndefined();
  });

  it('latestStatus picks the furthest-along known status, whatever the order', () => {
    expect(latestStatus('gitlab', ['running', 'created', 'pending'])).toBe('running');
    expect(latestStatus('gitlab', ['created', 'reconciled_waiting'])).toBe('created');
    expect(latestStatus('github', ['waiting', 'queued', 'in_progress', 'completed'])).toBe('completed');
    expect(latestStatus('github', [])).toBeUndefined();
    expect(latestStatus('github', ['reconciled'])).toBeUndefined();
  });
});
