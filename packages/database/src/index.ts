export { InvalidInputError } from '@runner-planner/core';
export { DEFAULT_LIMIT, Database, type DatabaseOptions, type ListJobOptions } from './database.js';
export { ExistError, NotExistError } from './errors.js';
export { migrate } from './migrate.js';
export { PRESSURE_CHANNEL, type PressureSubscription } from './pressure-channel.js';
export type { Flavor, Job, NewJob } from '@runner-planner/core';
