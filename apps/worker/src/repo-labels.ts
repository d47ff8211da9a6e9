import type { JobEvent } from '@runner-planner/core';

/** The label value of every repository past the cap, or without a usable name. */
export const OTHER_REPO = 'other';

/**
 * `owner/name` (GitHub) or `group/…/project` (GitLab): a slash in every real name, so no
 * repository can be mistaken for `other`.
 */
const REPO_NAME = /^[\w.-]+(\/[\w.-]+)+$/;
const MAX_NAME_LENGTH = 255;

/**
 * Repository label values with bounded cardinality: the first `limit` repositories this process
 * sees keep their name, every later one is `other`. A webhook's repository is chosen by whoever
 * owns it (any repository an App is installed on, any repository of an organisation hook), so
 * without the cap each new repository would add dozens of series to every scrape for good.
 */
export class RepoLabels {
  private readonly named = new Set<string>();

  constructor(private readonly limit: number) {}

  label(event: JobEvent): string {
    const name = repositoryOf(event);
    if (name === undefined) return OTHER_REPO;
    if (this.named.has(name)) return name;
    if (this.named.size >= this.limit) return OTHER_REPO;
    this.named.add(name);
    return name;
  }
}

/** The repository's full name from the stored payload: GitHub `repository.full_name`, GitLab `project.path_with_namespace`. */
export function repositoryOf(event: JobEvent): string | undefined {
  for (const payload of Object.values(event.raw)) {
    if (typeof payload !== 'object' || payload === null) continue;
    const name =
      event.platform === 'github'
        ? field(payload, 'repository', 'full_name')
        : (field(payload, 'project', 'path_with_namespace') ?? field(payload, 'project_name'));
    if (name !== undefined && name.length <= MAX_NAME_LENGTH && REPO_NAME.test(name)) return name;
  }
  return undefined;
}

function field(value: unknown, ...path: string[]): string | undefined {
  let node = value;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'string' ? node : undefined;
}
