import type pg from 'pg';
import type { Database, Flavor, NewJob } from '../src/index.js';
import {
  baselineAddFlavor,
  baselineAddJob,
  baselineGetPressures,
  baselineUpdateJobCompleted,
  baselineUpdateJobStarted,
} from './baseline.js';

export type Side = 'ours' | 'baseline' | 'original';

/** One implementation under test, plus a pool on the tables it writes (for loading and checks). */
export interface Contender {
  side: Side;
  pool: pg.Pool;
  getPressures(platform: string, ...flavors: string[]): Promise<Record<string, number>>;
  addJob(job: NewJob): Promise<void>;
  addFlavor(flavor: Flavor): Promise<void>;
}

/** The job writes of one implementation: what a worker calls for each event. */
export interface WriteContender {
  side: Side;
  addJob(job: NewJob): Promise<void>;
  updateJobStarted(
    platform: string,
    id: string,
    startedAt: Date,
    raw: Record<string, unknown>,
  ): Promise<void>;
  updateJobCompleted(
    platform: string,
    id: string,
    completedAt: Date,
    raw: Record<string, unknown>,
  ): Promise<void>;
}

export function oursWrites(db: Database): WriteContender {
  return {
    side: 'ours',
    addJob: (job) => db.addJob(job),
    updateJobStarted: (platform, id, at, raw) => db.updateJobStarted(platform, id, at, raw),
    updateJobCompleted: (platform, id, at, raw) => db.updateJobCompleted(platform, id, at, raw),
  };
}

/** The original's statements, one autocommitted statement per call as its pgx pool runs them. */
export function originalWrites(pool: pg.Pool): WriteContender {
  return {
    side: 'original',
    addJob: (job) => baselineAddJob(pool, job),
    updateJobStarted: (platform, id, at, raw) => baselineUpdateJobStarted(pool, platform, id, at, raw),
    updateJobCompleted: (platform, id, at, raw) => baselineUpdateJobCompleted(pool, platform, id, at, raw),
  };
}

export function ours(db: Database, pool: pg.Pool): Contender {
  return {
    side: 'ours',
    pool,
    getPressures: (platform, ...flavors) => db.getPressures(platform, ...flavors),
    addJob: (job) => db.addJob(job),
    addFlavor: (flavor) => db.addFlavor(flavor),
  };
}

export function baseline(side: Side, pool: pg.Pool): Contender {
  return {
    side,
    pool,
    getPressures: (platform, ...flavors) => baselineGetPressures(pool, platform, ...flavors),
    addJob: (job) => baselineAddJob(pool, job),
    addFlavor: (flavor) => baselineAddFlavor(pool, flavor),
  };
}
