import { InitialSchema } from './initial-schema.js';
import { RawCompression } from './raw-compression.js';

/** In order; a name, once released, never changes: it is what `mikro_orm_migrations` records. */
export const migrations = [
  { name: 'Migration20261128000000_initial_schema', class: InitialSchema },
  { name: 'Migration20261128100000_raw_compression', class: RawCompression },
];
