import fc from 'fast-check';
import type {
  DeliverySpec,
  FlavorSpec,
  GitHubJobSpec,
  GitLabJobSpec,
  PipelineSpec,
  Scenario,
  WorkflowSpec,
} from './model.js';

/** GitLab tags and GitHub labels are drawn from these, in mixed case (labels are case-insensitive). */
const GITLAB_TAGS = ['docker', 'gpu', 'arm64'];
const GITHUB_LABELS = ['large', 'gpu', 'arm64'];

const MAX_STEPS = 6;

function labelSet(universe: readonly string[]): fc.Arbitrary<string[]> {
  return fc
    .subarray([...universe])
    .chain((labels) =>
      fc.tuple(...labels.map((label) => fc.constantFrom(label, label.toUpperCase()))).map((cased) => cased),
    );
}

/** Flavors of one platform with distinct priorities, so each job has at most one best flavor. */
function flavors(platform: 'github' | 'gitlab'): fc.Arbitrary<FlavorSpec[]> {
  const universe = platform === 'gitlab' ? GITLAB_TAGS : GITHUB_LABELS;
  const flavor: fc.Arbitrary<FlavorSpec> = fc
    .record({
      labels: fc.subarray(universe),
      priority: fc.integer({ min: 0, max: 50 }),
      // GitLab's run_untagged: absent (its default), or said; a flavor without labels always takes them.
      runUntagged: fc.constantFrom<boolean | undefined>(undefined, true, false),
      disabled: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
    })
    .map(({ runUntagged, ...rest }) => {
      if (platform !== 'gitlab' || runUntagged === undefined) return rest;
      if (rest.labels.length === 0 && runUntagged === false) return rest;
      return { ...rest, runUntagged };
    });
  return fc.uniqueArray(flavor, {
    minLength: 1,
    maxLength: platform === 'gitlab' ? 4 : 3,
    selector: (f) => f.priority,
  });
}

const gitlabJob: fc.Arbitrary<GitLabJobSpec> = fc.record({
  stage: fc.integer({ min: 0, max: 2 }),
  when: fc.constantFrom<GitLabJobSpec['when']>('on_success', 'on_success', 'on_success', 'manual', 'delayed'),
  resourceGroup: fc.constantFrom<string | null>(null, null, null, 'production', 'staging'),
  prepare: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  tags: labelSet(GITLAB_TAGS),
  needs: fc.option(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 2 }), { freq: 3 }),
  createdHookDelay: fc.constantFrom(0, 0, 0, 1, 2),
});

const pipeline: fc.Arbitrary<PipelineSpec> = fc.record({
  start: fc.integer({ min: 0, max: 2 }),
  jobs: fc.array(gitlabJob, { minLength: 1, maxLength: 5 }),
});

const githubJob: fc.Arbitrary<GitHubJobSpec> = fc.record({
  labels: labelSet(GITHUB_LABELS),
  selfHosted: fc.integer({ min: 0, max: 5 }).map((n) => n !== 0),
  linux: fc.boolean(),
  gated: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
});

const workflow: fc.Arbitrary<WorkflowSpec> = fc.record({
  start: fc.integer({ min: 0, max: 2 }),
  jobs: fc.array(githubJob, { minLength: 1, maxLength: 4 }),
});

const delivery: fc.Arbitrary<DeliverySpec> = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  dropPercent: fc.integer({ min: 0, max: 20 }),
  duplicatePercent: fc.integer({ min: 0, max: 20 }),
});

/** A scenario: flavors of both platforms, GitLab pipelines, GitHub workflows, the forges' steps, delivery faults. */
export const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  flavors: fc.record({ gitlab: flavors('gitlab'), github: flavors('github') }),
  pipelines: fc.array(pipeline, { maxLength: 3 }),
  workflows: fc.array(workflow, { maxLength: 3 }),
  steps: fc.array(fc.array(fc.nat({ max: 1_000 }), { maxLength: 8 }), { minLength: 3, maxLength: MAX_STEPS }),
  delivery,
});
