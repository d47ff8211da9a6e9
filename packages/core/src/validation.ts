import { z } from 'zod';
import { flavorLabels, normalizeLabels } from './labels.js';
import { hasUnsafeCharacter } from './text.js';
import type { Flavor, NewJob } from './types.js';

/** Bad input: the message names every offending field; nothing was written. */
export class InvalidInputError extends Error {
  override readonly name = 'InvalidInputError';
  constructor(
    readonly subject: string,
    readonly problems: string[],
  ) {
    super(`invalid ${subject}: ${problems.join('; ')}`);
  }
}

const INT32_MAX = 2_147_483_647;

/**
 * Limits on what a flavor or token is given by whoever creates it (a general token may create
 * flavors). Names travel in URLs, metric labels, `pressure_change` notifications (PostgreSQL
 * refuses a payload of 8,000 bytes) and terminal tables; the planner API never took a name over
 * 100 characters (Fastify's path parameter limit answers 414), so neither does the CLI. Runner
 * labels are short words (`self-hosted`, `x64`, `gpu-a100`); GitLab caps a tag at 255
 * characters, and no runner needs 64 labels.
 */
export const INPUT_LIMITS = {
  nameLength: 100,
  labelLength: 255,
  labels: 64,
} as const;

/** Names reserved by the planner API: `_` means "every flavor", `-` was reserved by the original. */
const RESERVED_FLAVOR_NAMES = new Set(['_', '-']);

const nonEmpty = (what: string) =>
  z
    .string({ error: `${what} must be a string` })
    .refine((value) => value.trim() !== '', { message: `${what} must not be empty` });

/**
 * Years a stored date may have: what ISO 8601 writes with four digits, and well inside
 * PostgreSQL's range. A JS Date reaches year 275760 and parses "-200000-01-01" from a payload;
 * PostgreSQL would refuse such a date at every retry of its event.
 */
const DATE_YEARS = { first: 1, last: 9999 };

const validDate = (what: string) =>
  z
    .custom<Date>((value) => value instanceof Date, { message: `${what} must be a Date` })
    .refine((value) => !Number.isNaN(value.getTime()), { message: `${what} is not a valid date` })
    .refine(
      (value) => {
        const year = value.getUTCFullYear();
        return Number.isNaN(year) || (year >= DATE_YEARS.first && year <= DATE_YEARS.last);
      },
      { message: `${what} must be within the years ${DATE_YEARS.first} to ${DATE_YEARS.last}` },
    );

const labelList = z.array(z.string({ error: 'labels must be strings' }), {
  error: 'labels must be an array',
});

/** A name given to something new: not empty, at most `INPUT_LIMITS.nameLength`, printable. */
const newName = (what: string) =>
  nonEmpty(what)
    .refine((value) => [...value].length <= INPUT_LIMITS.nameLength, {
      message: `${what} must be at most ${INPUT_LIMITS.nameLength} characters`,
    })
    .refine((value) => !hasUnsafeCharacter(value), {
      message: `${what} must not contain control or format characters`,
    });

/** The labels of a new flavor: at most `INPUT_LIMITS.labels`, each short and printable. */
const flavorLabelList = labelList
  .max(INPUT_LIMITS.labels, { error: `at most ${INPUT_LIMITS.labels} labels` })
  .refine((labels) => labels.every((label) => [...label].length <= INPUT_LIMITS.labelLength), {
    message: `each label must be at most ${INPUT_LIMITS.labelLength} characters`,
  })
  .refine((labels) => labels.every((label) => !hasUnsafeCharacter(label)), {
    message: 'labels must not contain control or format characters',
  });

const rawPayload = z.custom<Record<string, unknown>>(
  (value) => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date),
  { message: 'raw must be a JSON object' },
);

export const platformSchema = nonEmpty('platform');
export const jobIdSchema = nonEmpty('id');
/**
 * A flavor name to look up, enable, disable or delete: lenient, so that a flavor stored before
 * the limits on new names (or imported) can still be managed.
 */
export const flavorNameSchema = nonEmpty('name')
  .refine((name) => !RESERVED_FLAVOR_NAMES.has(name), { message: 'name "_" and "-" are reserved' })
  .refine((name) => !name.includes('/'), { message: 'name must not contain "/"' });

/** The name of a new flavor: as above, and within `INPUT_LIMITS`, printable. */
const newFlavorNameSchema = newName('name')
  .refine((name) => !RESERVED_FLAVOR_NAMES.has(name), { message: 'name "_" and "-" are reserved' })
  .refine((name) => !name.includes('/'), { message: 'name must not contain "/"' });

const flavorSchema = z.object({
  platform: platformSchema,
  name: newFlavorNameSchema,
  labels: flavorLabelList.transform(flavorLabels),
  priority: z
    .number({ error: 'priority must be a number' })
    .int({ error: 'priority must be an integer' })
    .min(-INT32_MAX, { error: 'priority is out of range' })
    .max(INT32_MAX, { error: 'priority is out of range' }),
  isDisabled: z.boolean({ error: 'isDisabled must be a boolean' }),
  minimumPressure: z
    .number({ error: 'minimumPressure must be a number' })
    .int({ error: 'minimumPressure must be an integer' })
    .min(0, { error: 'minimumPressure must not be negative' })
    .max(INT32_MAX, { error: 'minimumPressure is out of range' }),
  runUntagged: z.boolean({ error: 'runUntagged must be a boolean' }).optional(),
});

/**
 * GitLab's rule for untagged jobs, settled once when the flavor is added: `runUntagged`
 * defaults to "has no labels", and a flavor without labels must take untagged jobs, as GitLab
 * requires of a runner without tags. Other platforms have no such setting.
 */
const flavorWithUntaggedRule = flavorSchema.transform((flavor, context): Flavor => {
  const { runUntagged, ...rest } = flavor;
  if (flavor.platform !== 'gitlab') {
    if (runUntagged !== undefined) {
      context.addIssue({ code: 'custom', message: 'runUntagged applies to gitlab flavors only' });
    }
    return rest;
  }
  if (runUntagged === false && flavor.labels.length === 0) {
    context.addIssue({
      code: 'custom',
      message: 'a gitlab flavor without labels takes untagged jobs: runUntagged cannot be false',
    });
  }
  return { ...rest, runUntagged: runUntagged ?? flavor.labels.length === 0 };
});

const newJobSchema = z.object({
  platform: platformSchema,
  id: jobIdSchema,
  labels: labelList.transform(normalizeLabels),
  createdAt: validDate('createdAt'),
  startedAt: validDate('startedAt').nullable(),
  completedAt: validDate('completedAt').nullable(),
  raw: rawPayload,
  held: z.boolean({ error: 'held must be a boolean' }).default(false),
});

function parseWith<T>(schema: z.ZodType<T>, subject: string, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new InvalidInputError(
    subject,
    result.error.issues.map((issue) =>
      issue.path.length > 0 && !issue.message.startsWith(String(issue.path[0]))
        ? `${issue.path.join('.')}: ${issue.message}`
        : issue.message,
    ),
  );
}

/** A flavor checked, its labels lowercased in the order given (`flavorLabels`), or InvalidInputError. */
export function parseFlavor(input: unknown): Flavor {
  return parseWith(flavorWithUntaggedRule, 'flavor', input);
}

/** A new job checked, with normalised labels and `held` filled in, or InvalidInputError. */
export function parseNewJob(input: unknown): Required<NewJob> {
  return parseWith(newJobSchema, 'job', input);
}

/** Checks one scalar argument (platform, id, name, date, raw) and returns it, or InvalidInputError. */
export function checkArgument<T>(schema: z.ZodType<T>, subject: string, value: unknown): T {
  return parseWith(schema, subject, value);
}

const dateSchemas = new Map<string, ReturnType<typeof validDate>>();

export const argumentSchemas = {
  platform: platformSchema,
  jobId: jobIdSchema,
  flavorName: flavorNameSchema,
  /** A token name to look up or delete (lenient, like `flavorName`). */
  tokenName: nonEmpty('name'),
  /** The name of a new token. */
  newTokenName: newName('name'),
  /** Built once per name: constructing a zod schema costs far more than running it (hot path). */
  date: (what: string) => {
    let schema = dateSchemas.get(what);
    if (schema === undefined) {
      schema = validDate(what);
      dateSchemas.set(what, schema);
    }
    return schema;
  },
  raw: rawPayload,
} as const;
