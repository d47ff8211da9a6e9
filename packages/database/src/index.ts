export type { Flavor, Job, NewJob, TokenScope } from '@runner-planner/core';
export { InvalidInputError } from '@runner-planner/core';
export {
  type AuthTokenInfo,
  type CreateAuthTokenOptions,
  Database,
  type DatabaseOptions,
  DEFAULT_LIMIT,
  type IncompleteJobCounts,
  type ListJobOptions,
  type StaleJobPage,
  type StaleJobQuery,
  type StartedRange,
  type WaitingTime,
  type WriteBatchOptions,
} from './database.js';
export { ExistError, NotExistError } from './errors.js';
export {
  ImportOriginalError,
  type ImportOriginalOptions,
  type ImportOriginalSummary,
  type ImportStage,
  type ImportTally,
  importOriginal,
  OriginalDatabase,
  type SkippedItem,
} from './import-original.js';
export { migrate } from './migrate.js';
export { pingDatabase } from './ping.js';
export {
  PRESSURE_CHANNEL,
  type PressureSubscription,
  TOKEN_REVOKED_CHANNEL,
  type TokenRevocationListener,
  type TokenRevocationSubscription,
} from './pressure-channel.js';
