import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { entities } from './entities.js';
import { migrations } from './migrations/index.js';

export interface OrmOptions {
  /** Most connections this process opens for queries (the LISTEN connection is separate). */
  poolSize?: number;
}

export function openOrm(databaseUrl: string, options: OrmOptions = {}): Promise<MikroORM> {
  return MikroORM.init({
    driver: PostgreSqlDriver,
    clientUrl: databaseUrl,
    entities,
    extensions: [Migrator],
    migrations: {
      migrationsList: migrations,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
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
