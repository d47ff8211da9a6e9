export {
  BadRequestError,
  ConflictError,
  type CreatedToken,
  type Flavor,
  type Job,
  type JobUpdate,
  type ListJobsOptions,
  type NewFlavor,
  NotFoundError,
  PlannerClient,
  type PlannerClientOptions,
  PlannerError,
  type PressureSnapshot,
  plannerError,
  type SnapshotStream,
  type StreamPressureOptions,
  UnauthorizedError,
} from './client.js';
export { NdjsonSplitter } from './ndjson.js';
export { PressureReader, type PressureReaderOptions, type WatchOptions } from './reader.js';
