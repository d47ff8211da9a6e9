import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ParseOutcome, PayloadError, parseGitHubWorkflowJob } from '../src/index.js';

interface WebhookDefinition {
  name: string;
  examples: Record<string, unknown>[];
}

const require = createRequire(import.meta.url);
const definitions = require('@octokit/webhooks-examples') as WebhookDefinition[];
const workflowJobExamples = definitions.find((definition) => definition.name === 'workflow_job')?.examples;
if (!workflowJobExamples) throw new Error('@octokit/webhooks-examples has no workflow_job examples');

const receivedAt = new Date('2024-05-01T12:00:00Z');
const d = (iso: string) => new Date(iso);

/** A deep copy of an example, so tests can change it. */
function example(index: number): Record<string, unknown> {
  const payload = workflowJobExamples?.[index];
  if (!payload) throw new Error(`no workflow_job example ${index}`);
  return structuredClone(payload);
}

function jobOf(payload: Record<string, unknown>): Record<string, unknown> {
  return payload.workflow_job as Record<string, unknown>;
}

/**
 * A queued self-hosted payload built from the documented `waiting`-status example, as GitHub
 * sends it again once deployment protection rules let the job through (`status: "queued"`).
 */
function queuedSelfHosted(changes: Record<string, unknown> = {}): Record<string, unknown> {
  const payload = example(6);
  Object.assign(jobOf(payload), { status: 'queued', deployment: undefined }, changes);
  return payload;
}

function parse(payload: unknown, selfHostedOnly = true, extraImplicitLabels?: readonly string[]) {
  return parseGitHubWorkflowJob(payload, { selfHostedOnly, receivedAt, extraImplicitLabels });
}

function expectPayloadError(payload: unknown, message: string | RegExp) {
  let thrown: unknown;
  try {
    parse(payload, false);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(PayloadError);
  if (typeof message === 'string') expect((thrown as PayloadError).message).toBe(message);
  else expect((thrown as PayloadError).message).toMatch(message);
}

const notSelfHosted = (id: string, labels: string[]): ParseOutcome => ({
  kind: 'ignored',
  reason: `workflow_job ${id} is not for a self-hosted runner (labels: ${JSON.stringify(labels)})`,
});

interface ExpectedJob {
  action: 'held' | 'queued' | 'started' | 'completed';
  id: string;
  labels: string[];
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
}

/** Job 12877621891 of the examples 6 and 7, held by deployment protection rules. */
const heldForApproval: ExpectedJob = {
  action: 'held',
  id: '12877621891',
  labels: ['k8s'],
  createdAt: d('2023-04-19T21:12:12Z'),
  startedAt: null,
  completedAt: null,
};

/**
 * Every documented example, in the package's order: its GitHub action and job id (to notice a
 * reshuffled package), then the outcome with `selfHostedOnly` false and true.
 */
const cases: {
  what: string;
  githubAction: string;
  id: number;
  all: ExpectedJob | ParseOutcome;
  selfHostedOnly: ExpectedJob | ParseOutcome;
}[] = [
  {
    what: 'in_progress, older shape without created_at',
    githubAction: 'in_progress',
    id: 2832853555,
    all: {
      action: 'started',
      id: '2832853555',
      labels: ['db-app', 'dc-03', 'gpu'],
      createdAt: d('2021-06-15T19:22:27Z'),
      startedAt: d('2021-06-15T19:22:27Z'),
      completedAt: null,
    },
    selfHostedOnly: notSelfHosted('2832853555', ['gpu', 'db-app', 'dc-03']),
  },
  {
    what: 'completed (failure)',
    githubAction: 'completed',
    id: 289782451,
    all: {
      action: 'completed',
      id: '289782451',
      labels: ['ubuntu-latest'],
      createdAt: d('2021-08-05T10:33:58Z'),
      startedAt: d('2021-08-05T10:34:58Z'),
      completedAt: d('2021-08-05T10:38:16Z'),
    },
    selfHostedOnly: notSelfHosted('289782451', ['ubuntu-latest']),
  },
  {
    what: 'completed (success)',
    githubAction: 'completed',
    id: 289782451,
    all: {
      action: 'completed',
      id: '289782451',
      labels: ['ubuntu-latest'],
      createdAt: d('2021-08-05T10:33:58Z'),
      startedAt: d('2021-08-05T10:34:58Z'),
      completedAt: d('2021-08-05T10:38:16Z'),
    },
    selfHostedOnly: notSelfHosted('289782451', ['ubuntu-latest']),
  },
  {
    what: 'in_progress',
    githubAction: 'in_progress',
    id: 289782451,
    all: {
      action: 'started',
      id: '289782451',
      labels: ['ubuntu-latest'],
      createdAt: d('2021-09-13T02:21:13Z'),
      startedAt: d('2021-09-13T02:21:13Z'),
      completedAt: null,
    },
    selfHostedOnly: notSelfHosted('289782451', ['ubuntu-latest']),
  },
  {
    what: 'in_progress (2023 shape)',
    githubAction: 'in_progress',
    id: 14541957942,
    all: {
      action: 'started',
      id: '14541957942',
      labels: ['ubuntu-latest'],
      createdAt: d('2023-06-26T03:31:29Z'),
      startedAt: d('2023-06-26T03:31:36Z'),
      completedAt: null,
    },
    selfHostedOnly: notSelfHosted('14541957942', ['ubuntu-latest']),
  },
  {
    what: 'queued with a non-null started_at',
    githubAction: 'queued',
    id: 289782451,
    all: {
      action: 'queued',
      id: '289782451',
      labels: ['ubuntu-latest'],
      createdAt: d('2021-09-13T02:21:13Z'),
      startedAt: null,
      completedAt: null,
    },
    selfHostedOnly: notSelfHosted('289782451', ['ubuntu-latest']),
  },
  {
    // Deployment protection rules hold the job: it cannot take a runner until they pass.
    what: 'queued, self-hosted, job status "waiting"',
    githubAction: 'queued',
    id: 12877621891,
    all: heldForApproval,
    selfHostedOnly: heldForApproval,
  },
  {
    what: 'waiting',
    githubAction: 'waiting',
    id: 12877621891,
    all: heldForApproval,
    selfHostedOnly: heldForApproval,
  },
];

function expectedOutcome(
  payload: Record<string, unknown>,
  expected: ExpectedJob | ParseOutcome,
  githubAction: string,
): ParseOutcome {
  if ('kind' in expected) return expected;
  return { kind: 'job', event: { platform: 'github', ...expected, raw: { [githubAction]: payload } } };
}

describe('parseGitHubWorkflowJob on every @octokit/webhooks-examples workflow_job example', () => {
  it('has the eight documented examples', () => {
    expect(workflowJobExamples).toHaveLength(cases.length);
  });

  describe.each(cases.map((entry, index) => ({ ...entry, index })))(
    'example $index: $what',
    ({ index, githubAction, id, all, selfHostedOnly }) => {
      it('is the example this table describes', () => {
        const payload = example(index);
        expect(payload.action).toBe(githubAction);
        expect(jobOf(payload).id).toBe(id);
      });

      it('with selfHostedOnly false', () => {
        const payload = example(index);
        expect(parse(payload, false)).toEqual(expectedOutcome(payload, all, githubAction));
      });

      it('with selfHostedOnly true', () => {
        const payload = example(index);
        expect(parse(payload, true)).toEqual(expectedOutcome(payload, selfHostedOnly, githubAction));
      });
    },
  );

  it('keeps the very payload object under the action name in raw', () => {
    const payload = example(6);
    const outcome = parse(payload);
    expect(outcome.kind === 'job' && outcome.event.raw.queued).toBe(payload);
  });
});

describe('parseGitHubWorkflowJob rules', () => {
  it('recognises self-hosted in any case', () => {
    const outcome = parse(queuedSelfHosted({ labels: ['Self-Hosted', 'Linux', 'X64'] }));
    expect(outcome).toMatchObject({ kind: 'job', event: { action: 'queued', labels: ['x64'] } });
  });

  it('does not count self-hosted-large (or a label merely containing it) as self-hosted', () => {
    const payload = queuedSelfHosted({ labels: ['self-hosted-large', 'my-self-hosted'] });
    expect(parse(payload, true)).toEqual(
      notSelfHosted('12877621891', ['self-hosted-large', 'my-self-hosted']),
    );
    expect(parse(payload, false)).toMatchObject({
      kind: 'job',
      event: { labels: ['my-self-hosted', 'self-hosted-large'] },
    });
  });

  it('ignores a job with no labels when selfHostedOnly, and keeps it otherwise', () => {
    const payload = queuedSelfHosted({ labels: [] });
    expect(parse(payload, true)).toEqual(notSelfHosted('12877621891', []));
    expect(parse(payload, false)).toMatchObject({ kind: 'job', event: { labels: [] } });
  });

  it('strips implicit labels, the configured extra ones included, and normalises the rest', () => {
    const payload = queuedSelfHosted({ labels: ['self-hosted', 'LINUX', 'X64', 'GPU', 'gpu', ' jammy '] });
    expect(parse(payload, true)).toMatchObject({ event: { labels: ['gpu', 'jammy', 'x64'] } });
    expect(parse(payload, true, ['x64', 'Jammy'])).toMatchObject({ event: { labels: ['gpu'] } });
  });

  it('does not take the started_at of a queued payload as a start', () => {
    const payload = queuedSelfHosted({
      started_at: '2023-04-19T21:15:00Z',
      created_at: '2023-04-19T21:12:12Z',
    });
    expect(parse(payload)).toMatchObject({
      kind: 'job',
      event: { action: 'queued', createdAt: d('2023-04-19T21:12:12Z'), startedAt: null, completedAt: null },
    });
  });

  it('falls back to started_at, then to receivedAt, for createdAt', () => {
    const withoutCreated = queuedSelfHosted({ started_at: '2023-04-19T21:15:00Z' });
    delete jobOf(withoutCreated).created_at;
    expect(parse(withoutCreated)).toMatchObject({ event: { createdAt: d('2023-04-19T21:15:00Z') } });
    const withoutEither = queuedSelfHosted({ created_at: null, started_at: null });
    expect(parse(withoutEither)).toMatchObject({ event: { createdAt: receivedAt, startedAt: null } });
  });

  it('uses receivedAt for an in_progress payload without started_at', () => {
    const payload = queuedSelfHosted({ started_at: null });
    payload.action = 'in_progress';
    expect(parse(payload)).toMatchObject({
      event: {
        action: 'started',
        createdAt: d('2023-04-19T21:12:12Z'),
        startedAt: receivedAt,
        completedAt: null,
      },
    });
  });

  it('uses receivedAt for a completed payload without completed_at and keeps a null start', () => {
    const payload = queuedSelfHosted({ started_at: null, completed_at: null });
    payload.action = 'completed';
    expect(parse(payload)).toMatchObject({
      event: { action: 'completed', startedAt: null, completedAt: receivedAt },
    });
  });

  it('accepts timestamps with an offset and milliseconds', () => {
    const payload = queuedSelfHosted({ created_at: '2023-04-19T23:12:12.250+02:00' });
    expect(parse(payload)).toMatchObject({ event: { createdAt: d('2023-04-19T21:12:12.250Z') } });
  });

  it('holds a queued job whose status says it waits for approval, and counts the queued one', () => {
    expect(parse(queuedSelfHosted({ status: 'waiting' }))).toMatchObject({ event: { action: 'held' } });
    expect(parse(queuedSelfHosted({ status: 'queued' }))).toMatchObject({ event: { action: 'queued' } });
    // Older payloads have no status: the action decides.
    expect(parse(queuedSelfHosted({ status: undefined }))).toMatchObject({ event: { action: 'queued' } });
  });

  it('a waiting action is held whatever its status field says', () => {
    const payload = queuedSelfHosted({ status: 'queued' });
    payload.action = 'waiting';
    expect(parse(payload)).toMatchObject({ event: { action: 'held', startedAt: null } });
  });

  it('a job cancelled before any runner took it has no start', () => {
    const payload = queuedSelfHosted({
      status: 'completed',
      conclusion: 'cancelled',
      started_at: '2023-04-19T21:12:12Z',
      completed_at: '2023-04-19T21:20:00Z',
      runner_id: null,
      runner_name: null,
      steps: [],
    });
    payload.action = 'completed';
    expect(parse(payload)).toMatchObject({
      event: { action: 'completed', startedAt: null, completedAt: d('2023-04-19T21:20:00Z') },
    });
    // With a runner, the same payload records when it started.
    jobOf(payload).runner_name = 'runner-1';
    expect(parse(payload)).toMatchObject({ event: { startedAt: d('2023-04-19T21:12:12Z') } });
  });

  it('refuses a status that is not a string', () => {
    expectPayloadError(
      queuedSelfHosted({ status: 7 }),
      'workflow_job.status must be a string, got the number 7',
    );
  });

  it.each(['requested', 'deleted', 'QUEUED', 'constructor', ''])('ignores the action %j', (action) => {
    const payload = queuedSelfHosted();
    payload.action = action;
    expect(parse(payload)).toEqual({
      kind: 'ignored',
      reason: `workflow_job action ${JSON.stringify(action)} is not tracked`,
    });
  });

  it('ignores an untracked action without looking at the rest of the payload', () => {
    expect(parse({ action: 'requested' })).toEqual({
      kind: 'ignored',
      reason: 'workflow_job action "requested" is not tracked',
    });
  });
});

describe('parseGitHubWorkflowJob payloads that can never be processed', () => {
  it.each([
    ['null', null, 'workflow_job payload must be a JSON object, got null'],
    ['an array', [], 'workflow_job payload must be a JSON object, got an array'],
    ['a string', 'queued', 'workflow_job payload must be a JSON object, got the string "queued"'],
  ])('refuses %s', (_what, payload, message) => {
    expectPayloadError(payload, message);
  });

  it('refuses a missing or non-string action', () => {
    const payload = queuedSelfHosted();
    delete payload.action;
    expectPayloadError(payload, 'action is missing');
    payload.action = 7;
    expectPayloadError(payload, 'action must be a string, got the number 7');
  });

  it('refuses a missing workflow_job', () => {
    expectPayloadError({ action: 'queued' }, 'workflow_job is missing');
    expectPayloadError(
      { action: 'queued', workflow_job: 'x' },
      'workflow_job must be an object, got the string "x"',
    );
  });

  it('refuses a missing id', () => {
    const payload = queuedSelfHosted();
    delete jobOf(payload).id;
    expectPayloadError(payload, 'workflow_job.id is missing');
  });

  it.each([
    [0, 'the number 0'],
    [-5, 'the number -5'],
    [1.5, 'the number 1.5'],
    [2 ** 60, `the number ${2 ** 60}`],
    ['123', 'the string "123"'],
    [null, 'null'],
  ])('refuses the id %j', (id, got) => {
    expectPayloadError(queuedSelfHosted({ id }), `workflow_job.id must be a positive integer, got ${got}`);
  });

  it('refuses missing or malformed labels', () => {
    const payload = queuedSelfHosted();
    delete jobOf(payload).labels;
    expectPayloadError(payload, 'workflow_job.labels is missing');
    expectPayloadError(
      queuedSelfHosted({ labels: 'self-hosted' }),
      'workflow_job.labels must be an array of strings, got the string "self-hosted"',
    );
    expectPayloadError(
      queuedSelfHosted({ labels: ['ok', 3, null] }),
      'workflow_job.labels must contain only strings',
    );
  });

  it('names every problem at once', () => {
    expectPayloadError(
      { action: 'queued', workflow_job: { labels: 3 } },
      'workflow_job.id is missing; workflow_job.labels must be an array of strings, got the number 3',
    );
  });

  it.each([
    ['created_at', 'yesterday'],
    ['created_at', '2023-02-30T00:00:00Z'],
    ['created_at', '2023-04-19 21:12:12'],
    ['created_at', '2023-04-19T21:12:12'],
    ['created_at', 1681938732],
  ])('refuses the %s %j', (field, value) => {
    expectPayloadError(queuedSelfHosted({ [field]: value }), new RegExp(`^workflow_job\\.${field} `));
  });

  it('refuses a bad started_at or completed_at where it is used', () => {
    const started = queuedSelfHosted({ started_at: 'soon' });
    started.action = 'in_progress';
    expectPayloadError(
      started,
      'workflow_job.started_at is not a valid ISO 8601 timestamp: got the string "soon"',
    );
    const completed = queuedSelfHosted({ completed_at: '2023-13-01T00:00:00Z' });
    completed.action = 'completed';
    expectPayloadError(
      completed,
      'workflow_job.completed_at is not a valid ISO 8601 timestamp: got the string "2023-13-01T00:00:00Z"',
    );
  });

  it('throws a RangeError, not a PayloadError, for an invalid receivedAt (a caller bug)', () => {
    expect(() =>
      parseGitHubWorkflowJob(example(6), { selfHostedOnly: true, receivedAt: new Date(Number.NaN) }),
    ).toThrow(RangeError);
  });
});

/** Runs the parser and fails on anything thrown but a PayloadError. */
function onlyPayloadErrors(payload: unknown, selfHostedOnly: boolean): void {
  try {
    const outcome = parse(payload, selfHostedOnly);
    expect(['job', 'ignored']).toContain(outcome.kind);
  } catch (error) {
    if (!(error instanceof PayloadError)) throw error;
  }
}

const MUTABLE_PATHS: readonly (readonly string[])[] = [
  [],
  ['action'],
  ['workflow_job'],
  ['workflow_job', 'id'],
  ['workflow_job', 'labels'],
  ['workflow_job', 'labels', '0'],
  ['workflow_job', 'created_at'],
  ['workflow_job', 'started_at'],
  ['workflow_job', 'completed_at'],
  ['workflow_job', 'status'],
];

/** Sets (or, for `undefined`, deletes) the value at `path`, creating nothing that is missing. */
function mutate(payload: Record<string, unknown>, path: readonly string[], value: unknown): unknown {
  if (path.length === 0) return value;
  let parent: unknown = payload;
  for (const key of path.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) return payload;
    parent = (parent as Record<string, unknown>)[key];
  }
  if (typeof parent !== 'object' || parent === null) return payload;
  const last = path[path.length - 1] as string;
  if (value === undefined) delete (parent as Record<string, unknown>)[last];
  else (parent as Record<string, unknown>)[last] = value;
  return payload;
}

describe('parseGitHubWorkflowJob properties', () => {
  it('throws nothing but PayloadError on arbitrary values', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withBoxedValues: true }),
        fc.boolean(),
        (payload, own) => onlyPayloadErrors(payload, own),
      ),
      { numRuns: 500 },
    );
  });

  it('throws nothing but PayloadError on arbitrary JSON objects with a tracked action', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('queued', 'in_progress', 'completed'),
        fc.jsonValue(),
        fc.jsonValue(),
        (action, workflowJob, extra) =>
          onlyPayloadErrors({ action, workflow_job: workflowJob, extra }, false),
      ),
      { numRuns: 500 },
    );
  });

  it('throws nothing but PayloadError on mutated examples', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: cases.length - 1 }),
        fc.array(
          fc.tuple(
            fc.constantFrom(...MUTABLE_PATHS),
            fc.oneof(
              fc.constant(undefined),
              fc.jsonValue(),
              fc.constantFrom('queued', 'in_progress', 'completed', 'self-hosted', '2023-02-30T00:00:00Z'),
              fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
              fc.integer(),
            ),
          ),
          { minLength: 1, maxLength: 4 },
        ),
        fc.boolean(),
        (index, mutations, selfHostedOnly) => {
          let payload: unknown = example(index);
          for (const [path, value] of mutations) {
            if (typeof payload !== 'object' || payload === null) break;
            payload = mutate(payload as Record<string, unknown>, path, value);
          }
          onlyPayloadErrors(payload, selfHostedOnly);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('parses every valid job it accepts into consistent times', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('queued', 'in_progress', 'completed'),
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.array(fc.string()),
        fc.option(fc.date({ noInvalidDate: true, min: d('2000-01-01'), max: d('2100-01-01') })),
        (githubAction, id, labels, started) => {
          const payload = {
            action: githubAction,
            workflow_job: { id, labels, created_at: null, started_at: started?.toISOString() ?? null },
          };
          const outcome = parse(payload, false);
          if (outcome.kind !== 'job') throw new Error('expected a job');
          expect(outcome.event.id).toBe(String(id));
          if (githubAction === 'queued') expect(outcome.event.startedAt).toBeNull();
          if (githubAction === 'in_progress') expect(outcome.event.startedAt).toEqual(started ?? receivedAt);
          expect(outcome.event.completedAt).toEqual(githubAction === 'completed' ? receivedAt : null);
        },
      ),
    );
  });
});
