import { EntitySchema } from '@mikro-orm/core';
import type { Flavor, Job, TokenScope } from '@runner-planner/core';

/** A flavor as stored: the domain flavor plus bookkeeping. */
export interface FlavorRow extends Flavor {
  createdAt?: Date;
}

/** A job as stored: the domain job plus its surrogate key and the time of its last event. */
export interface JobRow extends Job {
  pk: string;
  updatedAt: Date;
  /** When reconciliation last found this held job unchanged. */
  checkedAt: Date | null;
}

export interface AuthTokenRow {
  name: string;
  tokenHash: Buffer;
  /** `general` unless the token was made read-only. */
  scope?: TokenScope;
  createdAt?: Date;
}

export const FlavorEntity = new EntitySchema<FlavorRow>({
  name: 'Flavor',
  tableName: 'flavor',
  properties: {
    name: { type: 'string', columnType: 'text', primary: true },
    platform: { type: 'string', columnType: 'text' },
    labels: { type: 'string[]', columnType: 'text[]' },
    priority: { type: 'integer' },
    isDisabled: { type: 'boolean' },
    minimumPressure: { type: 'integer' },
    runUntagged: { type: 'boolean', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()', nullable: true },
  },
});

export const JobEntity = new EntitySchema<JobRow>({
  name: 'Job',
  tableName: 'job',
  properties: {
    pk: { type: 'bigint', primary: true, autoincrement: true },
    platform: { type: 'string', columnType: 'text' },
    id: { type: 'string', columnType: 'text' },
    labels: { type: 'string[]', columnType: 'text[]' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    startedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    completedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    raw: { type: 'json', columnType: 'jsonb' },
    held: { type: 'boolean' },
    releasedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    assignedFlavor: { type: 'string', columnType: 'text', nullable: true },
    updatedAt: { type: 'Date', columnType: 'timestamptz' },
    checkedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

export const AuthTokenEntity = new EntitySchema<AuthTokenRow>({
  name: 'AuthToken',
  tableName: 'auth_token',
  properties: {
    name: { type: 'string', columnType: 'text', primary: true },
    tokenHash: { type: 'Buffer', columnType: 'bytea' },
    scope: { type: 'string', columnType: 'text', default: 'general' },
    createdAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()', nullable: true },
  },
});

export const entities = [FlavorEntity, JobEntity, AuthTokenEntity];
