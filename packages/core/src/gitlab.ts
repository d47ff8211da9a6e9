import { z } from 'zod';
import { describeInput, fieldError, problemsOf } from './body.js';
import { ACTION_OF_PHASE, type ParseOutcome, PayloadError } from './events.js';
import { phaseOfStatus } from './lifecycle.js';

export interface GitLabParseOptions {
  /** When the webhook arrived: the time of an event whose payload lacks its own. */
  receivedAt: Date;
}

/** `2021-01-13 17:57:05 UTC`, `2021-01-13 17:57:05 +0100`, `2021-02-23T02:41:37.886Z`, `…+01:00`. */
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?) ?(Z|UTC|[+-]\d{2}:?\d{2})$/;

const isoDateTime = z.iso.datetime({ offset: true });

/** `UTC` → `Z`, `+0100` → `+01:00`; `Z` and `+01:00` as they are. */
function isoOffset(zone: string): string {
  if (zone === 'UTC') return 'Z';
  return zone === 'Z' || zone.includes(':') ? zone : `${zone.slice(0, 3)}:${zone.slice(3)}`;
}

/**
 * Parses a timestamp as GitLab writes them in webhooks: `2021-01-13 17:57:05 UTC` (also with a
 * `+0000`-style offset) or ISO 8601 (`2021-02-23T02:41:37.886Z`, `2021-02-23T02:41:37Z`, or with
 * an offset). Dates that do not exist (`2021-02-30`) are refused. Throws PayloadError.
 */
export function parseGitLabTimestamp(text: string): Date {
  const match = TIMESTAMP.exec(text);
  if (match) {
    const [, date, time, zone = ''] = match;
    const iso = `${date}T${time}${isoOffset(zone)}`;
    if (isoDateTime.safeParse(iso).success) {
      const parsed = new Date(iso);
      if (!Number.isNaN(parsed.getTime())) return parsed;
    }
  }
  throw new PayloadError(`${describeInput(text)} is not a valid GitLab timestamp`);
}

function timestampField(path: string) {
  return z
    .string({ error: fieldError(path, 'a timestamp string') })
    .nullable()
    .optional();
}

const jobHookSchema = z.object({
  build_id: z
    .int({ error: fieldError('build_id', 'a positive integer') })
    .positive({ error: fieldError('build_id', 'a positive integer') }),
  project_id: z
    .int({ error: fieldError('project_id', 'a positive integer') })
    .positive({ error: fieldError('project_id', 'a positive integer') }),
  build_created_at: timestampField('build_created_at'),
  build_created_at_iso: timestampField('build_created_at_iso'),
  build_started_at: timestampField('build_started_at'),
  build_started_at_iso: timestampField('build_started_at_iso'),
  build_finished_at: timestampField('build_finished_at'),
  build_finished_at_iso: timestampField('build_finished_at_iso'),
});
type JobHookFields = z.infer<typeof jobHookSchema>;

/** `build_<name>_at_iso` when set, else `build_<name>_at`; null when neither is. */
function timestampOf(hook: JobHookFields, name: 'created' | 'started' | 'finished'): Date | null {
  const isoField = `build_${name}_at_iso` as const;
  const plainField = `build_${name}_at` as const;
  const field = hook[isoField] != null ? isoField : plainField;
  const text = hook[field];
  if (text == null) return null;
  try {
    return parseGitLabTimestamp(text);
  } catch (error) {
    if (error instanceof PayloadError) throw new PayloadError(`${field}: ${error.message}`);
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns a GitLab Job Hook payload (`object_kind: build`) into a job event, or says why it is
 * ignored (another object kind, or a status the truth model does not know). `build_status`
 * maps through GITLAB_STATUSES (docs/pressure.md): `created`, `manual`, `skipped` and the other
 * statuses before `pending` are `held`. The event carries no labels: the hook does not include the job's
 * tags. Throws PayloadError when the payload can never be processed.
 */
export function parseGitLabJobHook(payload: unknown, options: GitLabParseOptions): ParseOutcome {
  const { receivedAt } = options;
  if (!(receivedAt instanceof Date) || Number.isNaN(receivedAt.getTime())) {
    throw new RangeError('options.receivedAt must be a valid Date');
  }
  if (!isObject(payload)) {
    throw new PayloadError(`job hook payload must be a JSON object, got ${describeInput(payload)}`);
  }
  const kind = payload.object_kind;
  if (typeof kind !== 'string') {
    throw new PayloadError(fieldError('object_kind', 'a string')({ input: kind }));
  }
  if (kind !== 'build') {
    return {
      kind: 'ignored',
      reason: `object_kind ${JSON.stringify(kind)} is not a job event (want "build")`,
    };
  }
  const status = payload.build_status;
  if (typeof status !== 'string') {
    throw new PayloadError(fieldError('build_status', 'a string')({ input: status }));
  }
  const phase = phaseOfStatus('gitlab', status);
  if (phase === undefined) {
    return { kind: 'ignored', reason: `build_status ${JSON.stringify(status)} is not tracked` };
  }
  const action = ACTION_OF_PHASE[phase];

  const checked = jobHookSchema.safeParse(payload);
  if (!checked.success) throw new PayloadError(problemsOf(checked.error));
  const hook = checked.data;
  const createdAt = timestampOf(hook, 'created');
  const startedAt = action === 'started' || action === 'completed' ? timestampOf(hook, 'started') : null;
  const finishedAt = action === 'completed' ? timestampOf(hook, 'finished') : null;
  return {
    kind: 'job',
    event: {
      platform: 'gitlab',
      id: String(hook.build_id),
      projectId: hook.project_id,
      action,
      createdAt: createdAt ?? receivedAt,
      // A completed job that never ran (canceled or skipped while pending) has no start.
      startedAt: action === 'started' ? (startedAt ?? receivedAt) : startedAt,
      completedAt: action === 'completed' ? (finishedAt ?? receivedAt) : null,
      raw: { [status]: payload },
    },
  };
}
