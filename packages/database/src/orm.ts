import type { Options } from '@mikro-orm/core';
import { MikroORM, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { entities } from './entities.js';

export interface OrmOptions {
  /** Most connections this process opens for queries (the LISTEN connection is separate). */
  poolSize?: number;
  /**
   * Options that add MikroORM's migrator, from `migratorOptions()`. Only `migrate` passes them:
   * loading the migrator and its dependencies (umzug and its command line) was a third of an
   * admin command's start-up, and nothing else uses them.
   */
  migrator?: Pick<Options, 'extensions' | 'migrations'>;
}

export function openOrm(databaseUrl: string, options: OrmOptions = {}): Promise<MikroORM> {
  return MikroORM.init({
    driver: PostgreSqlDriver,
    clientUrl: databaseUrl,
    entities,
    ...options.migrator,
    pool: { min: 0, max: options.poolSize ?? 10 },
    // MikroORM creates a missing database by default: a mistyped DATABASE_URL would then start
    // a worker or planner on an empty database of its own, counting pressure nobody reads.
    ensureDatabase: false,
    discovery: { warnWhenNoEntities: false },
    // Entities are plain rows here; results are mapped to the public types explicitly.
    forceEntityConstructor: false,
    allowGlobalContext: false,
    debug: false,
  });
}
