import { type Flavor, InvalidInputError, type Job, PLATFORMS, parseFlavor } from '@runner-planner/core';

export { type FlavorJson, flavorToJson, type JobJson } from '@runner-planner/core';

import { HttpError, PayloadError, sortKeys } from './respond.js';

/**
 * The planner v1 wire format: snake_case JSON, RFC 3339 timestamps, and the request shapes the
 * original accepted, read as Go's `json.Decoder` read them: the first JSON value of the body,
 * field names matched in any case, missing numeric and boolean fields left at zero values,
 * unknown fields ignored.
 */

const INT32_MAX = 2_147_483_647;
/**
 * Most jobs one `GET /api/v1/jobs/{platform}` returns; ask again with `created_after` for more.
 * Without payloads a job is a few hundred bytes, so an answer stays well under a megabyte.
 */
export const MAX_LIST_LIMIT = 1_000;
/**
 * Most jobs one list returns with `raw=true`: a job's payloads (one per webhook action) weigh
 * 10–30 KB, so 100 of them, the original's page, are a few megabytes at most.
 */
export const MAX_RAW_LIST_LIMIT = 100;

/** The request body as a JSON object (the API reads every body as JSON, whatever its content type). */
export function jsonObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === '') throw new PayloadError('the body is empty, expected a JSON object');
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(firstJsonValue(body));
    } catch (err) {
      throw new PayloadError(err instanceof Error ? err.message : 'not JSON');
    }
  }
  // JSON null decodes to "no fields given", as in Go.
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new PayloadError('the body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * The text of the body's first JSON value: Go's `Decoder.Decode` stops after it, so whatever
 * follows a complete object (a second object, a stray newline or garbage) is never looked at.
 */
export function firstJsonValue(text: string): string {
  const start = text.search(/\S/);
  if (start === -1) return text;
  const open = text[start];
  if (open !== '{' && open !== '[') {
    // A scalar ends at the first white space (`null` then anything decodes as null in Go).
    const end = text.slice(start).search(/\s/);
    return end === -1 ? text.slice(start) : text.slice(start, start + end);
  }
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i += 1) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i += 1;
      else if (char === '"') inString = false;
    } else if (char === '"') {
      inString = true;
    } else if (char === '{' || char === '[') {
      depth += 1;
    } else if (char === '}' || char === ']') {
      depth -= 1;
      if (depth === 0) return text.slice(start, i + 1);
    }
  }
  return text;
}

/**
 * A field of a decoded object as Go's decoder fills a struct field: from every key equal to its
 * name ignoring case, the last one (Go assigns them in the order they come).
 */
export function field(input: Record<string, unknown>, name: string): unknown {
  let value: unknown;
  for (const key of Object.keys(input)) {
    if (key === name || key.toLowerCase() === name) value = input[key];
  }
  return value;
}

export function isKnownPlatformName(platform: string): boolean {
  return (PLATFORMS as readonly string[]).includes(platform);
}

export const PLATFORM_CHOICES = PLATFORMS.join(', ');

/** `POST /api/v1/flavors/{name}`: the flavor to add, with every bad field named, or PayloadError. */
export function readFlavorPayload(name: string, body: unknown): Flavor {
  const input = jsonObject(body);
  const problems: string[] = [];

  const platform = field(input, 'platform');
  if (typeof platform !== 'string' || platform.trim() === '') {
    problems.push('platform must be a non-empty string');
  } else if (!isKnownPlatformName(platform)) {
    problems.push(`platform must be one of ${PLATFORM_CHOICES}`);
  }

  const labels = field(input, 'labels') ?? [];
  if (!Array.isArray(labels) || labels.some((label) => typeof label !== 'string')) {
    problems.push('labels must be an array of strings');
  }

  const priority = field(input, 'priority') ?? 0;
  if (typeof priority !== 'number' || !Number.isInteger(priority)) {
    problems.push('priority must be an integer');
  } else if (Math.abs(priority) > INT32_MAX) {
    problems.push(`priority must be between -${INT32_MAX} and ${INT32_MAX}`);
  }

  const isDisabled = field(input, 'is_disabled') ?? false;
  if (typeof isDisabled !== 'boolean') problems.push('is_disabled must be true or false');

  const minimumPressure = field(input, 'minimum_pressure') ?? 0;
  if (typeof minimumPressure !== 'number' || !Number.isInteger(minimumPressure) || minimumPressure < 0) {
    problems.push('minimum_pressure must be a non-negative integer');
  } else if (minimumPressure > INT32_MAX) {
    problems.push(`minimum_pressure must be at most ${INT32_MAX}`);
  }

  // Not in the original v1 API (GitLab only): absent or null leaves the domain's default.
  const runUntagged = field(input, 'run_untagged') ?? undefined;
  if (runUntagged !== undefined && typeof runUntagged !== 'boolean') {
    problems.push('run_untagged must be true or false');
  }

  if (problems.length > 0) throw new PayloadError(problems.join('; '));
  try {
    // The domain's own checks (reserved names, where run_untagged applies); labels lowercased in order.
    return parseFlavor({
      platform,
      name,
      labels,
      priority,
      isDisabled,
      minimumPressure,
      ...(runUntagged === undefined ? {} : { runUntagged }),
    });
  } catch (err) {
    if (err instanceof InvalidInputError) throw new PayloadError(err.problems.join('; '));
    throw err;
  }
}

/**
 * `PATCH /api/v1/flavors/{name}`: only `is_disabled` counts; clients send the whole flavor back.
 * Missing or null is the original's own 400 text, without the `invalid payload: ` prefix.
 */
export function readDisabledPayload(body: unknown): boolean {
  const value = field(jsonObject(body), 'is_disabled');
  if (value === undefined || value === null) throw new HttpError(400, 'is_disabled field is required');
  if (typeof value !== 'boolean') throw new PayloadError('is_disabled must be true or false');
  return value;
}

export interface JobUpdate {
  startedAt?: Date;
  completedAt?: Date;
}

/**
 * `PATCH /api/v1/jobs/{platform}/{id}`: `started_at` and/or `completed_at`, RFC 3339. Neither
 * given (or both null) is a valid request that changes nothing, as in the original.
 */
export function readJobUpdate(body: unknown): JobUpdate {
  const input = jsonObject(body);
  const update: JobUpdate = {};
  const problems: string[] = [];
  for (const [name, key] of [
    ['started_at', 'startedAt'],
    ['completed_at', 'completedAt'],
  ] as const) {
    const value = field(input, name);
    if (value === undefined || value === null) continue;
    const date = typeof value === 'string' ? parseTimestamp(value) : undefined;
    if (date === undefined) {
      problems.push(`${name} must be an RFC 3339 timestamp such as 2026-01-02T03:04:05Z`);
    } else {
      update[key] = date;
    }
  }
  if (problems.length > 0) throw new PayloadError(problems.join('; '));
  return update;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** An RFC 3339 timestamp (with seconds and a zone, as Go's `time.Time` JSON), or undefined. */
export function parseTimestamp(text: string): Date | undefined {
  const match = RFC3339.exec(text);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as number[] as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (match[9] !== undefined && (Number(match[9]) > 23 || Number(match[10]) > 59)) return undefined;
  const date = new Date(text.replace(/^(.{10})t/, '$1T').replace(/z$/, 'Z'));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A query parameter given at most once, or an HttpError naming it. */
export function queryValue(query: unknown, name: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `invalid query parameter ${name}: give it once`);
  return value;
}

/** `true`/`false` (also `1`/`0`, `t`/`f`, any case, as Go's strconv.ParseBool); absent or empty → false. */
export function queryFlag(query: unknown, name: string): boolean {
  const value = queryValue(query, name);
  if (value === undefined || value === '') return false;
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === '1' || lower === 't') return true;
  if (lower === 'false' || lower === '0' || lower === 'f') return false;
  throw new HttpError(400, `invalid query parameter ${name}: must be true or false`);
}

export interface JobQuery {
  withId?: string;
  onlyNotCompleted: boolean;
  createdAfter?: Date;
  limit: number;
  /** Include each job's `raw` payloads (`?raw=true`); left out by default. */
  raw: boolean;
}

/** `GET /api/v1/jobs/{platform}?id=&only_not_completed=&created_after=&limit=&raw=`. */
export function readJobQuery(query: unknown): JobQuery {
  const result: JobQuery = {
    onlyNotCompleted: queryFlag(query, 'only_not_completed'),
    limit: 0,
    raw: queryFlag(query, 'raw'),
  };
  const id = queryValue(query, 'id');
  if (id !== undefined && id !== '') result.withId = id;
  const createdAfter = queryValue(query, 'created_after');
  if (createdAfter !== undefined && createdAfter !== '') {
    const date = parseTimestamp(createdAfter);
    if (date === undefined) {
      throw new HttpError(
        400,
        'invalid query parameter created_after: must be an RFC 3339 timestamp such as 2026-01-02T03:04:05Z',
      );
    }
    result.createdAfter = date;
  }
  const limit = queryValue(query, 'limit');
  if (limit !== undefined && limit !== '') {
    if (!/^\d{1,9}$/.test(limit) || Number(limit) > MAX_LIST_LIMIT) {
      throw new HttpError(
        400,
        `invalid query parameter limit: must be a whole number from 0 to ${MAX_LIST_LIMIT} (0 = default of 100)`,
      );
    }
    result.limit = Number(limit);
  }
  if (result.raw && result.limit > MAX_RAW_LIST_LIMIT) {
    throw new HttpError(
      400,
      `invalid query parameter limit: at most ${MAX_RAW_LIST_LIMIT} with raw=true (payloads are large); page with created_after`,
    );
  }
  return result;
}

/**
 * Whether `?stream=` asks for a stream: exactly as the original read it, the first value
 * lowercased equal to `true`. Any other value (`1`, `yes`, empty) is an ordinary JSON answer.
 */
export function streamRequested(query: unknown): boolean {
  const value = (query as Record<string, unknown> | undefined)?.stream;
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first.toLowerCase() === 'true';
}

/** `?platform=all`: every platform at once (not in the original, which knew GitHub only). */
export const ALL_PLATFORMS = 'all';

/**
 * The platform a collection answer (`GET /api/v1/flavors`, the pressure of `_`) is about:
 * GitHub unless `?platform=` names another or `all`, since the original answered for GitHub
 * flavors only and its clients act on every flavor they are shown.
 */
export function readPlatformScope(query: unknown): string {
  const value = queryValue(query, 'platform');
  if (value === undefined || value === '') return 'github';
  if (isKnownPlatformName(value) || value === ALL_PLATFORMS) return value;
  throw new HttpError(
    400,
    `invalid query parameter platform: ${JSON.stringify(value)} is not one of ${PLATFORM_CHOICES}, ${ALL_PLATFORMS}`,
  );
}

/** A job as the original's `json.Encoder` wrote it. */
export interface JobV1Json {
  platform: string;
  id: string;
  labels: string[];
  created_at: string;
  started_at?: string;
  completed_at?: string;
  /** Left out of job lists unless `raw=true` asks for it. */
  raw?: unknown;
  assigned_flavor?: string;
}

/**
 * A job in the original's v1 shape: `started_at`, `completed_at` and `assigned_flavor` left out
 * when not set (its `omitempty` tags) rather than null, timestamps as Go writes them
 * (`goTime`), and the keys of `raw` in Go's map order; `raw` itself left out when
 * `options.raw` is false (job lists without `raw=true`).
 */
export function jobToV1Json(job: Job, options: { raw?: boolean } = {}): JobV1Json {
  return {
    platform: job.platform,
    id: job.id,
    labels: job.labels,
    created_at: goTime(job.createdAt),
    ...(job.startedAt === null ? {} : { started_at: goTime(job.startedAt) }),
    ...(job.completedAt === null ? {} : { completed_at: goTime(job.completedAt) }),
    ...(options.raw === false ? {} : { raw: sortKeys(job.raw) }),
    ...(job.assignedFlavor === null ? {} : { assigned_flavor: job.assignedFlavor }),
  };
}

/**
 * A time as Go's `time.Time` marshals to JSON (RFC 3339 with nanoseconds, trailing zeros of the
 * fraction dropped): `2026-01-02T03:04:05Z`, `…05.5Z`, `…05.123Z`, in UTC.
 */
export function goTime(date: Date): string {
  return date.toISOString().replace(/\.?0+Z$/, 'Z');
}
