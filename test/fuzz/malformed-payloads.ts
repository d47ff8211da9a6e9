import fc from 'fast-check';
import { JOB_EVENT, type Platform, realPayloads } from './real-payloads.js';

/** A delivery the gateway must accept (it is correctly signed) and the worker can never process. */
export interface MalformedDelivery {
  platform: Platform;
  event: string;
  contentType: string;
  body: string;
  /** What is wrong with it, for the per-defect figures. */
  defect: string;
}

/** Values of the wrong type for a field the parser requires to be a string, number or array. */
const notAString = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 2 }),
);
const notAPositiveInteger = fc.oneof(
  fc.integer({ max: 0 }),
  fc.double({ noInteger: true, noDefaultInfinity: true, noNaN: true }),
  fc.string({ maxLength: 8 }),
  fc.constant(null),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);
/** Strings no timestamp parser accepts: no digits at all. */
const notATimestamp = fc.string({ unit: fc.constantFrom(...'abcxyz -:TZ'), minLength: 1, maxLength: 24 });
const TRACKED_GITHUB_ACTIONS = ['waiting', 'queued', 'in_progress', 'completed'];
const TRACKED_GITLAB_STATUSES = ['created', 'pending', 'running', 'success', 'failed', 'canceled'];

type Defect = [defect: string, mutate: fc.Arbitrary<(payload: Record<string, unknown>) => void>];

function set(path: string[], value: unknown) {
  return (payload: Record<string, unknown>) => {
    let target = payload;
    for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
    const last = path.at(-1) as string;
    if (value === undefined) delete target[last];
    else target[last] = value;
  };
}

/**
 * Field-level defects, each one the parser must refuse whatever else the payload holds. The
 * payload keeps a tracked action or status, so it is not merely "ignored".
 */
function fieldDefects(platform: Platform): Defect[] {
  if (platform === 'github') {
    const job = (field: string) => ['workflow_job', field];
    return [
      ['action not a string', notAString.map((v) => set(['action'], v))],
      ['workflow_job missing', fc.constant(set(['workflow_job'], undefined))],
      ['workflow_job not an object', notAString.map((v) => set(['workflow_job'], v))],
      ['workflow_job.id invalid', notAPositiveInteger.map((v) => set(job('id'), v))],
      ['workflow_job.id missing', fc.constant(set(job('id'), undefined))],
      [
        'workflow_job.labels invalid',
        fc.oneof(fc.string(), fc.integer(), fc.constant(null)).map((v) => set(job('labels'), v)),
      ],
      [
        'workflow_job.labels not strings',
        fc.array(fc.integer(), { minLength: 1, maxLength: 3 }).map((v) => set(job('labels'), v)),
      ],
      [
        'workflow_job.created_at not a string',
        fc.oneof(fc.integer(), fc.boolean()).map((v) => set(job('created_at'), v)),
      ],
      ['workflow_job.created_at not a timestamp', notATimestamp.map((v) => set(job('created_at'), v))],
    ];
  }
  return [
    ['object_kind not a string', notAString.map((v) => set(['object_kind'], v))],
    ['build_status not a string', notAString.map((v) => set(['build_status'], v))],
    ['build_id invalid', notAPositiveInteger.map((v) => set(['build_id'], v))],
    ['build_id missing', fc.constant(set(['build_id'], undefined))],
    ['project_id invalid', notAPositiveInteger.map((v) => set(['project_id'], v))],
    [
      'build_created_at not a timestamp',
      notATimestamp.map((v) => (p) => {
        set(['build_created_at_iso'], undefined)(p);
        set(['build_created_at'], v)(p);
      }),
    ],
  ];
}

/** A real payload with a tracked action/status, then one defect applied. */
function defectivePayload(platform: Platform): fc.Arbitrary<{ defect: string; body: string }> {
  const tracked = realPayloads(platform).filter((payload) =>
    platform === 'github'
      ? TRACKED_GITHUB_ACTIONS.includes(payload.action as string)
      : TRACKED_GITLAB_STATUSES.includes(payload.build_status as string),
  );
  return fc
    .tuple(fc.constantFrom(...tracked), fc.constantFrom(...fieldDefects(platform)))
    .chain(([payload, [defect, mutation]]) =>
      mutation.map((mutate) => {
        const copy = structuredClone(payload);
        // A job that asks for a self-hosted runner, so GITHUB_SELF_HOSTED_ONLY cannot make it
        // "ignored" before the defect is seen.
        if (platform === 'github')
          (copy.workflow_job as Record<string, unknown>).labels = ['self-hosted', 'linux'];
        mutate(copy);
        return { defect, body: JSON.stringify(copy) };
      }),
    );
}

/** Bodies that are not a JSON object at all. */
function unparsableBody(platform: Platform): fc.Arbitrary<{ defect: string; body: string }> {
  const real = realPayloads(platform).map((payload) => JSON.stringify(payload));
  return fc.oneof(
    fc
      .constantFrom(...real)
      .chain((json) => fc.integer({ min: 1, max: json.length - 1 }).map((end) => json.slice(0, end)))
      .map((body) => ({ defect: 'truncated JSON', body })),
    fc
      .oneof(
        fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
        fc.integer(),
        fc.string(),
        fc.constant(null),
      )
      .map((value) => ({ defect: 'JSON but not an object', body: JSON.stringify(value) })),
    fc.constantFrom('   ', '\n').map((body) => ({ defect: 'blank body', body })),
  );
}

/** Every kind of malformed delivery, with the content type it is sent as. */
export function malformedDelivery(): fc.Arbitrary<MalformedDelivery> {
  return fc.constantFrom<Platform>('github', 'gitlab').chain((platform) => {
    const json = (arbitrary: fc.Arbitrary<{ defect: string; body: string }>) =>
      arbitrary.map(({ defect, body }) => ({ defect, body, contentType: 'application/json' }));
    const real = realPayloads(platform).map((payload) => JSON.stringify(payload));
    return fc
      .oneof(
        { weight: 6, arbitrary: json(defectivePayload(platform)) },
        { weight: 3, arbitrary: json(unparsableBody(platform)) },
        {
          weight: 1,
          arbitrary: fc.constantFrom(...real).map((body) => ({
            defect: 'unsupported content type',
            body,
            contentType: 'text/plain',
          })),
        },
        {
          weight: 1,
          arbitrary: fc.constantFrom(...real).map((json) => ({
            defect: 'form body without a payload field',
            body: `data=${encodeURIComponent(json)}`,
            contentType: 'application/x-www-form-urlencoded',
          })),
        },
      )
      .map((delivery) => ({
        ...delivery,
        platform,
        event: JOB_EVENT[platform],
        defect: `${platform}: ${delivery.defect}`,
      }));
  });
}
