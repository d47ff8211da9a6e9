import type { InstallationAccessTokenAuthentication } from '@octokit/auth-app';
import { LRUCache } from 'lru-cache';
import type { GitHubClient } from './github.js';

/** What a request reaches on GitHub: an account, or one of its repositories. */
export interface GitHubTarget {
  owner: string;
  repo?: string | undefined;
}

/** A permission a request needs, as GitHub names them in an installation's `permissions`. */
export type GitHubPermission = [name: string, level: 'read' | 'write'];

/** An installation token for a request, or why none of the App's installations may make it. */
export type InstallationAccess = { installationId: number; token: string } | { missing: string };

export interface GitHubAppInstallationsOptions {
  /** Authenticated as the App (its JWT): finds installations and mints their tokens. */
  appClient: GitHubClient;
  appId: number;
  /**
   * OWNER (lowercase) → installation id. When given, only these owners use the App and no
   * installation is looked up (GITHUB_APP_INSTALLATION_IDS).
   */
  pinned?: ReadonlyMap<string, number> | undefined;
  /** How long a 401 or 404 from an installation lookup is believed (default 5 minutes). */
  missTtlMs?: number;
  /** How long a found installation id is used without asking again (default 1 hour). */
  foundTtlMs?: number;
  now?: () => number;
  /** Told once per miss (then not again until it is looked up again). */
  onMiss?: ((reason: string) => void) | undefined;
}

const MISS_TTL_MS = 5 * 60_000;
const FOUND_TTL_MS = 60 * 60_000;
/**
 * Tokens live an hour; one with less than this left is replaced before use, so a request (and
 * its rate-limit waits) never outlives it.
 */
const REFRESH_MARGIN_MS = 5 * 60_000;

type Lookup = { id: number } | { missing: string };

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** A plain Error (no `status`): the App client already retried, the caller's client must not again. */
function failure(what: string, error: unknown): Error {
  return new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

const describe = (target: GitHubTarget) =>
  target.repo === undefined ? target.owner : `${target.owner}/${target.repo}`;

/**
 * A GitHub App's installations, one per organisation or user it is installed on, and their
 * access tokens. Installation ids are found through `GET /repos/{owner}/{repo}/installation` or
 * `GET /orgs/{org}/installation` and kept per owner; tokens are minted and cached by
 * @octokit/auth-app and replaced shortly before they expire.
 */
export class GitHubAppInstallations {
  private readonly found: LRUCache<string, number>;
  /** Repositories of `selected` installations known to be granted (`owner/repo` → id). */
  private readonly granted: LRUCache<string, number>;
  private readonly misses: LRUCache<string, string>;
  private readonly inFlight = new Map<string, Promise<Lookup>>();
  private readonly ownerLookups = new Map<string, Promise<Lookup>>();
  private readonly now: () => number;

  constructor(private readonly options: GitHubAppInstallationsOptions) {
    this.now = options.now ?? Date.now;
    const foundTtl = options.foundTtlMs ?? FOUND_TTL_MS;
    this.found = new LRUCache({ max: 10_000, ttl: foundTtl, perf: { now: this.now } });
    this.granted = new LRUCache({ max: 50_000, ttl: foundTtl, perf: { now: this.now } });
    this.misses = new LRUCache({
      max: 50_000,
      ttl: options.missTtlMs ?? MISS_TTL_MS,
      perf: { now: this.now },
    });
  }

  /**
   * An installation token that may make a request to `target` needing `permission`: the
   * installation must be on the owner, grant the repository and hold the permission.
   * `refresh` mints a new token even if the cached one looks valid (GitHub answered 401).
   */
  async access(
    target: GitHubTarget,
    permission: GitHubPermission | undefined,
    refresh = false,
  ): Promise<InstallationAccess> {
    const installation = await this.installationOf(target);
    if ('missing' in installation) return installation;
    const installationId = installation.id;
    const auth = await this.token(installationId, refresh);
    if (permission !== undefined) {
      const [name, level] = permission;
      const granted = auth.permissions[name];
      if (granted !== 'write' && granted !== level) {
        const reason = `installation ${installationId} of GitHub App ${this.options.appId} on ${target.owner} lacks the "${name}: ${level}" permission`;
        return { missing: this.note(`permission/${installationId}/${name}/${level}`, reason) };
      }
    }
    if (target.repo !== undefined && auth.repositorySelection === 'selected') {
      const repository = await this.lookup({ owner: target.owner, repo: target.repo });
      if ('missing' in repository) return repository;
      if (repository.id !== installationId) {
        const reason = `${describe(target)} belongs to installation ${repository.id} of GitHub App ${this.options.appId}, not ${installationId} (GITHUB_APP_INSTALLATION_IDS)`;
        return { missing: this.note(`other/${describe(target).toLowerCase()}`, reason) };
      }
    }
    return { installationId, token: auth.token };
  }

  private async installationOf(target: GitHubTarget): Promise<Lookup> {
    const owner = target.owner.toLowerCase();
    const { pinned } = this.options;
    if (pinned !== undefined) {
      const id = pinned.get(owner);
      if (id !== undefined) return { id };
      return {
        missing: this.note(`pinned/${owner}`, `${target.owner} is not in GITHUB_APP_INSTALLATION_IDS`),
      };
    }
    const found = this.found.get(owner);
    if (found !== undefined) return { id: found };
    // Jobs of one owner are looked up side by side: the first lookup answers for all of them.
    const first = this.ownerLookups.get(owner);
    if (first !== undefined) {
      await first.catch(() => undefined);
      const id = this.found.get(owner);
      if (id !== undefined) return { id };
    }
    const lookup = this.lookup(target);
    if (first === undefined) {
      this.ownerLookups.set(owner, lookup);
      const done = () => this.ownerLookups.delete(owner);
      lookup.then(done, done);
    }
    return lookup;
  }

  /** Remembers why `key` cannot be reached, telling `onMiss` unless it is remembered already. */
  private note(key: string, reason: string): string {
    if (!this.misses.has(key)) this.options.onMiss?.(reason);
    this.misses.set(key, reason);
    return reason;
  }

  /** Asks GitHub which installation reaches `target`; answers are cached, concurrent asks shared. */
  private lookup(target: GitHubTarget): Promise<Lookup> {
    const owner = target.owner.toLowerCase();
    const key = target.repo === undefined ? `orgs/${owner}` : `repos/${owner}/${target.repo.toLowerCase()}`;
    const granted = this.granted.get(key);
    if (granted !== undefined) return Promise.resolve({ id: granted });
    const missing = this.misses.get(key);
    if (missing !== undefined) return Promise.resolve({ missing });
    let pending = this.inFlight.get(key);
    if (pending === undefined) {
      pending = this.ask(target, owner, key).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  private async ask(target: GitHubTarget, owner: string, key: string): Promise<Lookup> {
    const { appClient, appId } = this.options;
    try {
      const response =
        target.repo === undefined
          ? await appClient.request('GET /orgs/{org}/installation', { org: target.owner })
          : await appClient.request('GET /repos/{owner}/{repo}/installation', {
              owner: target.owner,
              repo: target.repo,
            });
      const id = (response.data as { id: number }).id;
      this.found.set(owner, id);
      this.granted.set(key, id);
      return { id };
    } catch (error) {
      const status = statusOf(error);
      if (status !== 401 && status !== 404) {
        throw failure(`looking up GitHub App ${appId}'s installation on ${describe(target)}`, error);
      }
      const missing =
        status === 404
          ? `GitHub App ${appId} is not installed on ${describe(target)}`
          : `GitHub refused GitHub App ${appId}'s JWT (401) looking up its installation on ${describe(target)}: check GITHUB_APP_ID and the private key`;
      return { missing: this.note(key, missing) };
    }
  }

  private async token(
    installationId: number,
    refresh: boolean,
  ): Promise<InstallationAccessTokenAuthentication> {
    const mint = async (fresh: boolean) => {
      try {
        return (await this.options.appClient.auth({
          type: 'installation',
          installationId,
          refresh: fresh,
        })) as InstallationAccessTokenAuthentication;
      } catch (error) {
        // The App was uninstalled (and maybe installed again under a new id): look it up again.
        if (statusOf(error) === 404) this.forget(installationId);
        throw failure(
          `minting a token for installation ${installationId} of GitHub App ${this.options.appId}`,
          error,
        );
      }
    };
    const auth = await mint(refresh);
    if (refresh || Date.parse(auth.expiresAt) - this.now() >= REFRESH_MARGIN_MS) return auth;
    return mint(true);
  }

  private forget(installationId: number): void {
    for (const cache of [this.found, this.granted]) {
      for (const [key, id] of cache.entries()) if (id === installationId) cache.delete(key);
    }
  }
}
