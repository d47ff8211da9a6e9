export { GITHUB_IMPLICIT_LABELS, hasLabel, normalizeLabels, stripImplicitLabels } from './labels.js';
export { candidateFlavors, flavorCoversLabels, type MatchableJob, matchFlavor } from './matching.js';
export { countsTowardPressure, DEFAULT_STALE_AFTER_MS, pressureOf, stalenessCutoff } from './staleness.js';
export {
  type Flavor,
  isKnownPlatform,
  type Job,
  type KnownPlatform,
  type NewJob,
  PLATFORMS,
} from './types.js';
export {
  argumentSchemas,
  checkArgument,
  InvalidInputError,
  parseFlavor,
  parseNewJob,
} from './validation.js';
