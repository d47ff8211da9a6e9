export { decodeWebhookBody } from './body.js';
export {
  ACTION_OF_PHASE,
  type GitHubJobEvent,
  type GitLabJobEvent,
  type JobAction,
  type JobEvent,
  type ParseOutcome,
  PayloadError,
} from './events.js';
export { type GitHubParseOptions, type GitHubWorkflowJobPayload, parseGitHubWorkflowJob } from './github.js';
export { type GitLabParseOptions, parseGitLabJobHook, parseGitLabTimestamp } from './gitlab.js';
export {
  flavorLabels,
  GITHUB_IMPLICIT_LABELS,
  hasLabel,
  normalizeLabels,
  stripImplicitLabels,
} from './labels.js';
export {
  GITHUB_STATUSES,
  GITLAB_STATUSES,
  isDemand,
  type JobPhase,
  latestStatus,
  phaseOfStatus,
  statusMeaning,
} from './lifecycle.js';
// Assignment and pressure themselves (matchFlavor, candidateFlavors, pressureOf) are not here:
// they run in SQL, and core states them as `@runner-planner/core/reference-model`.
export { flavorCoversLabels, takesUntaggedJobs } from './matching.js';
export { countsTowardPressure, DEFAULT_STALE_AFTER_MS, stalenessCutoff } from './staleness.js';
export { hasUnsafeCharacter } from './text.js';
export {
  type Flavor,
  isKnownPlatform,
  isTokenScope,
  type Job,
  type KnownPlatform,
  type NewJob,
  PLATFORMS,
  TOKEN_SCOPES,
  type TokenScope,
} from './types.js';
export {
  argumentSchemas,
  checkArgument,
  INPUT_LIMITS,
  InvalidInputError,
  parseFlavor,
  parseNewJob,
} from './validation.js';
export {
  explainJob,
  type FlavorRefusal,
  type FlavorVerdict,
  type JobExplanation,
  NEVER_RECORDED,
  phaseOfJob,
} from './why.js';
export {
  explanationToJson,
  type FlavorJson,
  type FlavorVerdictJson,
  flavorToJson,
  type JobExplanationJson,
  type JobJson,
  jobToJson,
} from './wire.js';
