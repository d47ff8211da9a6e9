import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError, printJson } from '../context.js';
import { dataDir, readRuntime } from '../data-dir.js';

const set = (value: string | undefined) => (value === undefined || value === '' ? undefined : value);

/** The first value of a comma-separated secret variable, else what `start` generated into .data/secrets.json. */
async function secretFor(
  variable: string,
  key: 'githubWebhookSecret' | 'gitlabWebhookToken',
): Promise<string> {
  const fromEnv = set(process.env[variable])
    ?.split(',')
    .map((item) => item.trim())
    .find((item) => item !== '');
  if (fromEnv !== undefined) return fromEnv;
  try {
    const stored = JSON.parse(await readFile(join(dataDir(), 'secrets.json'), 'utf8')) as Record<
      string,
      string
    >;
    if (stored[key]) return stored[key];
  } catch {}
  throw new CliError(`${variable} is not set and there is no .data/secrets.json here; pass --secret`);
}

async function gatewayBase(url: string | undefined): Promise<string> {
  const base = url ?? (await readRuntime())?.gatewayUrl;
  if (base === undefined) {
    throw new CliError(
      'pass --url <the gateway base URL the forge can reach>, e.g. https://planner.example.com',
    );
  }
  try {
    const parsed = new URL(base);
    if (!/^https?:$/.test(parsed.protocol)) throw new Error();
  } catch {
    throw new CliError(`--url must be an http(s) URL, got "${base}"`);
  }
  return base.replace(/\/+$/, '');
}

function required(value: string | undefined, message: string): string {
  if (value === undefined) throw new CliError(message);
  return value;
}

interface Registered {
  action: 'created' | 'updated';
  id: number;
  url: string;
}

export function registerWebhook(program: Command): void {
  const webhook = program.command('webhook').description('point a forge at the gateway');
  const register = webhook.command('register').description('create (or update) the forge webhook');

  register
    .command('github')
    .description('a repository or organisation webhook for workflow_job events (through @octokit)')
    .option('--repo <owner/repo>', 'repository webhook')
    .option('--org <org>', 'organisation webhook')
    .option('--url <url>', 'gateway base URL the forge can reach (default: the running start)')
    .option('--secret <secret>', 'webhook secret (default: GITHUB_WEBHOOK_SECRET, else .data/secrets.json)')
    .option('--json', 'print {action, id, url} as JSON')
    .action(async (options) => {
      if ((options.repo === undefined) === (options.org === undefined)) {
        throw new CliError('give exactly one of --repo owner/repo or --org org');
      }
      if (options.repo !== undefined && !/^[^/\s]+\/[^/\s]+$/.test(options.repo)) {
        throw new CliError(`--repo must be owner/repo, got "${options.repo}"`);
      }
      const token = required(
        set(process.env.GITHUB_TOKEN),
        'GITHUB_TOKEN is not set (a token that may admin hooks)',
      );
      const url = `${await gatewayBase(options.url)}/webhooks/github`;
      const secret = options.secret ?? (await secretFor('GITHUB_WEBHOOK_SECRET', 'githubWebhookSecret'));
      const { Octokit } = await import('@octokit/core');
      const octokit = new Octokit({
        auth: token,
        baseUrl: (set(process.env.GITHUB_API_URL) ?? 'https://api.github.com').replace(/\/+$/, ''),
      });
      const base = options.repo !== undefined ? `/repos/${options.repo}/hooks` : `/orgs/${options.org}/hooks`;
      const body = {
        active: true,
        events: ['workflow_job'],
        config: { url, content_type: 'json', secret, insecure_ssl: '0' },
      };
      let result: Registered;
      try {
        const hooks = (await octokit.request(`GET ${base}`, { per_page: 100 })).data as {
          id: number;
          config?: { url?: string };
        }[];
        const existing = hooks.find((hook) => hook.config?.url === url);
        if (existing !== undefined) {
          await octokit.request(`PATCH ${base}/{hook_id}`, { hook_id: existing.id, ...body });
          result = { action: 'updated', id: existing.id, url };
        } else {
          const created = await octokit.request(`POST ${base}`, { name: 'web', ...body });
          result = { action: 'created', id: (created.data as { id: number }).id, url };
        }
      } catch (error) {
        const status = (error as { status?: number }).status;
        if (status === 404) {
          const what =
            options.repo !== undefined ? `repository ${options.repo}` : `organisation ${options.org}`;
          throw new CliError(
            `GitHub refused: 404, ${what} not found, or GITHUB_TOKEN may not admin its hooks ` +
              `(needs ${options.repo !== undefined ? 'admin:repo_hook' : 'admin:org_hook'})`,
          );
        }
        throw new CliError(`GitHub refused: ${status ?? ''} ${(error as Error).message}`.replace(/\s+/, ' '));
      }
      report(result, options.json === true, options.repo ?? options.org);
    });

  register
    .command('gitlab')
    .description('a project or group webhook for job events (through @gitbeaker/rest)')
    .option('--project <id-or-path>', 'project webhook')
    .option('--group <id-or-path>', 'group webhook')
    .option('--url <url>', 'gateway base URL the forge can reach (default: the running start)')
    .option('--secret <token>', 'webhook token (default: GITLAB_WEBHOOK_TOKEN, else .data/secrets.json)')
    .option('--json', 'print {action, id, url} as JSON')
    .action(async (options) => {
      if ((options.project === undefined) === (options.group === undefined)) {
        throw new CliError('give exactly one of --project P or --group G');
      }
      const token = required(
        set(process.env.GITLAB_TOKEN),
        'GITLAB_TOKEN is not set (a token with the api scope)',
      );
      const url = `${await gatewayBase(options.url)}/webhooks/gitlab`;
      const secret = options.secret ?? (await secretFor('GITLAB_WEBHOOK_TOKEN', 'gitlabWebhookToken'));
      const { Gitlab } = await import('@gitbeaker/rest');
      const api = new Gitlab({ host: set(process.env.GITLAB_URL) ?? 'https://gitlab.com', token });
      const hooks = options.project !== undefined ? api.ProjectHooks : api.GroupHooks;
      const owner: string = options.project ?? options.group;
      const hookOptions = { token: secret, jobEvents: true, pushEvents: false, enableSslVerification: true };
      let result: Registered;
      try {
        const existing = (await hooks.all(owner)).find((hook) => hook.url === url);
        if (existing !== undefined) {
          await hooks.edit(owner, existing.id, url, hookOptions);
          result = { action: 'updated', id: existing.id, url };
        } else {
          const created = await hooks.add(owner, url, hookOptions);
          result = { action: 'created', id: created.id, url };
        }
      } catch (error) {
        const what = options.project !== undefined ? `project ${owner}` : `group ${owner}`;
        if (gitlabStatus(error) === 404) {
          throw new CliError(
            `GitLab refused: 404, ${what} not found, or GITLAB_TOKEN may not see it (needs the api scope and the ${options.project !== undefined ? 'Maintainer' : 'Owner'} role)`,
          );
        }
        throw new CliError(`GitLab refused: ${(error as Error).message}`);
      }
      report(result, options.json === true, owner);
    });
}

/** The HTTP status of a @gitbeaker error, which keeps the fetch Response as its cause. */
function gitlabStatus(error: unknown): number | undefined {
  const response = (error as { cause?: { response?: unknown } }).cause?.response;
  return response instanceof Response ? response.status : undefined;
}

function report(result: Registered, json: boolean, owner: string) {
  if (json) printJson(result);
  else process.stdout.write(`webhook ${result.id} ${result.action} on ${owner}: ${result.url}\n`);
}
