import { CounterSlots } from './counter-slots.js';
import { InitialSchema } from './initial-schema.js';
import { InsertJobsInCallOrder } from './insert-jobs-in-call-order.js';
import { JobEventBatches } from './job-event-batches.js';
import { JobLifecycle } from './job-lifecycle.js';
import { JobRetention } from './job-retention.js';
import { RawCompression } from './raw-compression.js';
import { TokenScope } from './token-scope.js';

/** In order; a name, once released, never changes: it is what `mikro_orm_migrations` records. */
export const migrations = [
  { name: 'Migration20261128000000_initial_schema', class: InitialSchema },
  { name: 'Migration20261128100000_raw_compression', class: RawCompression },
  { name: 'Migration20261203000000_job_lifecycle', class: JobLifecycle },
  { name: 'Migration20261203140000_token_scope', class: TokenScope },
  { name: 'Migration20261203170000_job_retention', class: JobRetention },
  { name: 'Migration20261203190000_counter_slots', class: CounterSlots },
  { name: 'Migration20261203220000_job_event_batches', class: JobEventBatches },
  { name: 'Migration20261204190000_insert_jobs_in_call_order', class: InsertJobsInCallOrder },
];
