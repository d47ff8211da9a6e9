import type pg from 'pg';
import type { Database, Flavor, NewJob } from '../src/index.js';
import { baselineAddFlavor, baselineAddJob, baselineGetPressures } from './baseline.js';

export type Side = 'ours' | 'baseline' | 'original';

/** One implementation under test, plus a pool on the tables it writes (for loading and checks). */
export interface Contender {
  side: Side;
  pool: pg.Pool;
  getPressures(platform: string, ...flavors: string[]): Promise<Record<string, number>>;
  addJob(job: NewJob): Promise<void>;
  addFlavor(flavor: Flavor): Promise<void>;
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
