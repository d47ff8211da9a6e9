import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ParseOutcome, PayloadError, parseGitLabJobHook, parseGitLabTimestamp } from '../src/index.js';

// The repository's copy of GitLab's documented Job Hook (test/fixtures/README.md).
const fixtureUrl = new URL('../../../test/fixtures/gitlab/job-hook-docs-example.json', import.meta.url);
const fixture = JSON.parse(readFileSync(fixtureUrl, 'utf8')) as Record<string, unknown>;

const receivedAt = new Date('2024-05-01T12:00:00Z');
const d = (iso: string) => new Date(iso);

const TIMESTAMP_KEYS = [
  'build_created_at',
  'build_created_at_iso',
  'build_started_at',
  'build_started_at_iso',
  'build_finished_at',
  'build_finished_at_iso',
] as const;
type TimestampKey = (typeof TIMESTAMP_KEYS)[number];

/** The documented hook with `changes` applied; a change to `undefined` removes the key. */
function hook(changes: Record<string, unknown> = {}): Record<string, unknown> {
  const payload = structuredClone(fixture);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete payload[key];
    else payload[key] = value;
  }
  return payload;
}

/** Timestamps only in the given keys: every other timestamp key is removed. */
function onlyTimestamps(
  values: Partial<Record<TimestampKey, string | null>>,
  changes: Record<string, unknown> = {},
) {
  const removed = Object.fromEntries(TIMESTAMP_KEYS.map((key) => [key, undefined]));
  return hook({ ...removed, ...values, ...changes });
}

function parse(payload: unknown): ParseOutcome {
  return parseGitLabJobHook(payload, { receivedAt });
}

function jobOutcome(
  payload: Record<string, unknown>,
  event: {
    action: 'held' | 'queued' | 'started' | 'completed';
    createdAt: Date;
    startedAt: Date | null;
    completedAt: Date | null;
  },
): ParseOutcome {
  return {
    kind: 'job',
    event: {
      platform: 'gitlab',
      id: '1977',
      projectId: 380,
      ...event,
      raw: { [payload.build_status as string]: payload },
    },
  };
}

function expectPayloadError(payload: unknown, message: string) {
  let thrown: unknown;
  try {
    parse(payload);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(PayloadError);
  expect((thrown as PayloadError).message).toBe(message);
}

/** The documented hook's `*_iso` created time (it wins over the millisecond `build_created_at`). */
const documentedCreatedAt = d('2021-02-23T02:41:37Z');
const started = {
  build_started_at: '2021-02-23 02:41:40 UTC',
  build_started_at_iso: '2021-02-23T02:41:40Z',
};
const finished = {
  build_finished_at: '2021-02-23 02:45:01 UTC',
  build_finished_at_iso: '2021-02-23T02:45:01Z',
};

describe('parseGitLabJobHook on the documented Job Hook', () => {
  it('reads the fixture as a created (held) job, preferring *_iso timestamps', () => {
    const payload = hook();
    expect(payload.build_status).toBe('created');
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'held',
        createdAt: documentedCreatedAt,
        startedAt: null,
        completedAt: null,
      }),
    );
  });

  it('keeps the very payload object under its status in raw, and no labels', () => {
    const payload = hook();
    const outcome = parse(payload);
    if (outcome.kind !== 'job') throw new Error('expected a job');
    expect(outcome.event.raw.created).toBe(payload);
    expect(outcome.event).not.toHaveProperty('labels');
  });
});

describe('parseGitLabJobHook statuses', () => {
  // docs/pressure.md: the forge will not hand these to a runner yet.
  it.each([
    'created',
    'manual',
    'scheduled',
    'waiting_for_resource',
    'preparing',
    'waiting_for_callback',
    'skipped',
  ])('%s → held, never started', (status) => {
    // Even with start and finish times present, a held status sets neither.
    const payload = hook({ build_status: status, ...started, ...finished });
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'held',
        createdAt: documentedCreatedAt,
        startedAt: null,
        completedAt: null,
      }),
    );
  });

  it('pending → queued (waits for a runner), never started', () => {
    const payload = hook({ build_status: 'pending', ...started, ...finished });
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'queued',
        createdAt: documentedCreatedAt,
        startedAt: null,
        completedAt: null,
      }),
    );
  });

  // `canceling`: the runner still runs the job (its after_script) while it cancels.
  it.each(['running', 'canceling'])('%s → started at build_started_at', (status) => {
    const payload = hook({ build_status: status, ...started });
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'started',
        createdAt: documentedCreatedAt,
        startedAt: d('2021-02-23T02:41:40Z'),
        completedAt: null,
      }),
    );
  });

  it('running without a start time → started at receivedAt', () => {
    const payload = hook({ build_status: 'running' });
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'started',
        createdAt: documentedCreatedAt,
        startedAt: receivedAt,
        completedAt: null,
      }),
    );
  });

  it.each(['success', 'failed', 'canceled'])('%s → completed with its start and finish', (status) => {
    const payload = hook({ build_status: status, ...started, ...finished });
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'completed',
        createdAt: documentedCreatedAt,
        startedAt: d('2021-02-23T02:41:40Z'),
        completedAt: d('2021-02-23T02:45:01Z'),
      }),
    );
  });

  it.each(['canceled', 'failed'])('%s that never started keeps a null start', (status) => {
    const payload = hook({ build_status: status, ...finished });
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'completed',
        createdAt: documentedCreatedAt,
        startedAt: null,
        completedAt: d('2021-02-23T02:45:01Z'),
      }),
    );
  });

  it('a completed status without a finish time completes at receivedAt', () => {
    const payload = hook({ build_status: 'success', ...started });
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'completed',
        createdAt: documentedCreatedAt,
        startedAt: d('2021-02-23T02:41:40Z'),
        completedAt: receivedAt,
      }),
    );
  });

  it.each(['Running', 'PENDING', 'constructor', 'toString', ''])('ignores the status %j', (status) => {
    expect(parse(hook({ build_status: status }))).toEqual({
      kind: 'ignored',
      reason: `build_status ${JSON.stringify(status)} is not tracked`,
    });
  });

  it('ignores an untracked status without looking at the rest of the payload', () => {
    expect(parse({ object_kind: 'build', build_status: 'bogus' })).toEqual({
      kind: 'ignored',
      reason: 'build_status "bogus" is not tracked',
    });
  });

  it.each(['pipeline', 'push', 'merge_request', 'deployment'])('ignores object_kind %j', (kind) => {
    expect(parse(hook({ object_kind: kind }))).toEqual({
      kind: 'ignored',
      reason: `object_kind ${JSON.stringify(kind)} is not a job event (want "build")`,
    });
  });
});

describe('parseGitLabJobHook timestamp formats', () => {
  const running = { build_status: 'running' };
  const success = { build_status: 'success' };

  it('prefers *_iso fields over the plain ones', () => {
    const payload = onlyTimestamps(
      {
        build_created_at: '2021-01-13 17:57:05 UTC',
        build_created_at_iso: '2021-01-13T18:57:05+01:00',
        build_started_at: '2000-01-01 00:00:00 UTC',
        build_started_at_iso: '2021-01-13T17:58:00Z',
        build_finished_at: '2000-01-01T00:00:00.000Z',
        build_finished_at_iso: '2021-01-13T17:59:30.5Z',
      },
      success,
    );
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'completed',
        createdAt: d('2021-01-13T17:57:05Z'),
        startedAt: d('2021-01-13T17:58:00Z'),
        completedAt: d('2021-01-13T17:59:30.500Z'),
      }),
    );
  });

  it('reads plain "YYYY-MM-DD HH:MM:SS UTC" fields when there are no *_iso ones', () => {
    const payload = onlyTimestamps(
      {
        build_created_at: '2021-01-13 17:57:05 UTC',
        build_started_at: '2021-01-13 17:58:00 UTC',
        build_finished_at: '2021-01-13 17:59:30 UTC',
      },
      success,
    );
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'completed',
        createdAt: d('2021-01-13T17:57:05Z'),
        startedAt: d('2021-01-13T17:58:00Z'),
        completedAt: d('2021-01-13T17:59:30Z'),
      }),
    );
  });

  it('reads plain ISO fields with milliseconds when there are no *_iso ones', () => {
    const payload = onlyTimestamps(
      {
        build_created_at: '2021-02-23T02:41:37.886Z',
        build_started_at: '2021-02-23T02:41:40.120Z',
      },
      running,
    );
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'started',
        createdAt: d('2021-02-23T02:41:37.886Z'),
        startedAt: d('2021-02-23T02:41:40.120Z'),
        completedAt: null,
      }),
    );
  });

  it('reads the plain fields when the *_iso ones are null', () => {
    const payload = hook({
      ...success,
      build_created_at: '2021-01-13 17:57:05 UTC',
      build_created_at_iso: null,
      build_started_at: '2021-01-13T17:58:00.250Z',
      build_started_at_iso: null,
      build_finished_at: '2021-01-13 17:59:30 +0000',
      build_finished_at_iso: null,
    });
    expect(parse(payload)).toEqual(
      jobOutcome(payload, {
        action: 'completed',
        createdAt: d('2021-01-13T17:57:05Z'),
        startedAt: d('2021-01-13T17:58:00.250Z'),
        completedAt: d('2021-01-13T17:59:30Z'),
      }),
    );
  });

  it('falls back to receivedAt for a job without any created time', () => {
    const payload = onlyTimestamps({}, { build_status: 'pending' });
    expect(parse(payload)).toEqual(
      jobOutcome(payload, { action: 'queued', createdAt: receivedAt, startedAt: null, completedAt: null }),
    );
  });
});

describe('parseGitLabTimestamp', () => {
  it.each([
    ['2021-01-13 17:57:05 UTC', '2021-01-13T17:57:05.000Z'],
    ['2021-01-13 17:57:05 +0000', '2021-01-13T17:57:05.000Z'],
    ['2021-01-13 17:57:05 +0100', '2021-01-13T16:57:05.000Z'],
    ['2021-01-13 17:57:05 -05:30', '2021-01-13T23:27:05.000Z'],
    ['2021-02-23T02:41:37.886Z', '2021-02-23T02:41:37.886Z'],
    ['2021-02-23T02:41:37Z', '2021-02-23T02:41:37.000Z'],
    ['2021-02-23T04:41:37+02:00', '2021-02-23T02:41:37.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ])('parses %j', (text, iso) => {
    expect(parseGitLabTimestamp(text).toISOString()).toBe(iso);
  });

  it.each([
    '',
    'yesterday',
    '2021-01-13',
    '2021-01-13 17:57:05',
    '2021-01-13T17:57:05',
    '2021-01-13 17:57 UTC',
    '2021-02-30 00:00:00 UTC',
    '2023-02-29T00:00:00Z',
    '2021-13-01T00:00:00Z',
    '2021-01-13 24:00:00 UTC',
    '2021-01-13 17:57:05 PST',
    ' 2021-01-13 17:57:05 UTC',
  ])('refuses %j with a PayloadError', (text) => {
    expect(() => parseGitLabTimestamp(text)).toThrow(PayloadError);
    expect(() => parseGitLabTimestamp(text)).toThrow(
      `the string ${JSON.stringify(text)} is not a valid GitLab timestamp`,
    );
  });
});

describe('parseGitLabJobHook payloads that can never be processed', () => {
  it.each([
    ['null', null, 'job hook payload must be a JSON object, got null'],
    ['an array', [fixture], 'job hook payload must be a JSON object, got an array'],
    ['a number', 42, 'job hook payload must be a JSON object, got the number 42'],
  ])('refuses %s', (_what, payload, message) => {
    expectPayloadError(payload, message);
  });

  it('refuses a missing object_kind or build_status', () => {
    expectPayloadError(hook({ object_kind: undefined }), 'object_kind is missing');
    expectPayloadError(hook({ build_status: undefined }), 'build_status is missing');
    expectPayloadError(hook({ build_status: 3 }), 'build_status must be a string, got the number 3');
  });

  it('refuses a missing build_id or project_id', () => {
    expectPayloadError(hook({ build_id: undefined }), 'build_id is missing');
    expectPayloadError(hook({ project_id: undefined }), 'project_id is missing');
    expectPayloadError(
      hook({ build_id: undefined, project_id: undefined }),
      'build_id is missing; project_id is missing',
    );
  });

  it.each([
    [0, 'the number 0'],
    [-1, 'the number -1'],
    [19.77, 'the number 19.77'],
    ['1977', 'the string "1977"'],
    [null, 'null'],
  ])('refuses the build_id %j', (id, got) => {
    expectPayloadError(hook({ build_id: id }), `build_id must be a positive integer, got ${got}`);
  });

  it('refuses a non-numeric project_id', () => {
    expectPayloadError(
      hook({ project_id: '380' }),
      'project_id must be a positive integer, got the string "380"',
    );
  });

  it('refuses a used timestamp that does not parse, naming the field', () => {
    expectPayloadError(
      hook({ build_created_at_iso: 'soon' }),
      'build_created_at_iso: the string "soon" is not a valid GitLab timestamp',
    );
    expectPayloadError(
      hook({ build_created_at_iso: null, build_created_at: '2021-02-30 00:00:00 UTC' }),
      'build_created_at: the string "2021-02-30 00:00:00 UTC" is not a valid GitLab timestamp',
    );
    expectPayloadError(
      hook({ build_status: 'running', build_started_at: 'later' }),
      'build_started_at: the string "later" is not a valid GitLab timestamp',
    );
    expectPayloadError(
      hook({ build_status: 'failed', build_finished_at_iso: '2021-02-23' }),
      'build_finished_at_iso: the string "2021-02-23" is not a valid GitLab timestamp',
    );
    expectPayloadError(
      hook({ build_started_at: 1614048097 }),
      'build_started_at must be a timestamp string, got the number 1614048097',
    );
  });

  it('does not parse a timestamp the status does not use', () => {
    const payload = hook({ build_status: 'pending', build_started_at: 'later', build_finished_at: 'never' });
    expect(parse(payload)).toMatchObject({ kind: 'job', event: { action: 'queued', startedAt: null } });
  });
});

describe('parseGitLabJobHook properties', () => {
  function onlyPayloadErrors(payload: unknown): void {
    try {
      parse(payload);
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
    }
  }

  it('throws nothing but PayloadError on arbitrary values', () => {
    fc.assert(fc.property(fc.anything({ withNullPrototype: true }), onlyPayloadErrors), { numRuns: 500 });
  });

  it('throws nothing but PayloadError on the documented hook with fields replaced', () => {
    const keys = ['object_kind', 'build_status', 'build_id', 'project_id', ...TIMESTAMP_KEYS];
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(...keys),
          fc.oneof(
            fc.jsonValue(),
            fc.constantFrom('build', 'running', 'success', 'pending', '2021-01-13 17:57:05 UTC'),
            fc.date().map((date) => (Number.isNaN(date.getTime()) ? 'Invalid' : date.toISOString())),
          ),
        ),
        (changes) => onlyPayloadErrors(hook(changes)),
      ),
      { numRuns: 1000 },
    );
  });
});
