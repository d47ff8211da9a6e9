export { buildPlanner, type PlannerOptions } from './app.js';
export {
  type Authenticator,
  bearerToken,
  createAuthenticator,
  decodeGeneralToken,
  encodeGeneralToken,
  type Principal,
  type RequireAuthOptions,
} from './auth.js';
export {
  HubClosedError,
  PressureHub,
  type PressureHubOptions,
  type PressureListener,
  type PressureSnapshot,
} from './pressure-hub.js';
export { NDJSON, PressureStream, type PressureStreamOptions } from './pressure-stream.js';
export { ALL_FLAVORS } from './routes/pressure.js';
export { type RunningPlanner, type StartPlannerOptions, startPlanner } from './start.js';
export type { FlavorJson, JobJson } from './wire.js';
