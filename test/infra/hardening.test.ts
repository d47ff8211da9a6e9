/**
 * Static checks of what keeps a hostile or runaway stream of webhooks from taking the deployment
 * down (issue 12): Redis bounded with `maxmemory` and never evicting the queue, an alert before
 * it fills, dead-letter and refusal limits passed to the worker, and nothing but the webhook port
 * published beyond the host. No Docker or Prometheus here: the files are parsed as YAML.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@runner-planner/config';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { interpolateDeep } from './compose.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (...parts: string[]) => readFileSync(join(ROOT, ...parts), 'utf8');

interface PortEntry {
  host_ip?: string;
  published?: string | number;
  target: number;
}
interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string | number | null>;
  ports?: (string | PortEntry)[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = interpolateDeep(parse(read('infra', 'docker-compose.yml'), { merge: true }), {
  POSTGRES_PASSWORD: 'secret1',
  GRAFANA_ADMIN_PASSWORD: 'secret2',
  ADMIN_TOKEN: `planner_v0_${'a'.repeat(20)}`,
}) as { services: Record<string, Service> };
const service = (name: string): Service => {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`infra/docker-compose.yml has no service ${name}`);
  return found;
};

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: { severity?: string };
  annotations?: { summary?: string; description?: string };
}
const rulesOf = (file: string): Rule[] =>
  (parse(read('infra', 'prometheus', file)) as { groups: { rules: Rule[] }[] }).groups.flatMap(
    (group) => group.rules,
  );
const redisRules = rulesOf('redis-alerts.yml');
const prometheus = parse(read('infra', 'prometheus', 'prometheus.yml')) as {
  rule_files: string[];
  scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[];
};

/** A Redis memory size as redis.conf reads it: 1k = 1000 bytes, 1kb = 1024 (case-insensitive). */
function redisBytes(value: string): number {
  const match = /^(\d+)(k|kb|m|mb|g|gb)?$/i.exec(value);
  if (match === null) throw new Error(`${value} is not a Redis memory size`);
  const unit = (match[2] ?? '').toLowerCase();
  const factor = { '': 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 }[unit] as number;
  return Number(match[1]) * factor;
}

/** The value following `flag` in a command list, as in `--maxmemory 1gb`. */
function flagValue(command: string[], flag: string): string | undefined {
  const index = command.indexOf(flag);
  return index === -1 ? undefined : command[index + 1];
}

/** Host address and port of each published port (short `[ip:]host:container` or long syntax). */
function published(entry: string | PortEntry): { ip: string; port: number } {
  if (typeof entry !== 'string') return { ip: entry.host_ip ?? '0.0.0.0', port: Number(entry.published) };
  const parts = entry.split(':');
  // Without a host address Docker binds every interface.
  if (parts.length === 3) return { ip: parts[0] as string, port: Number(parts[1]) };
  return { ip: '0.0.0.0', port: Number(parts[0]) };
}

/** A dead letter or queued event takes about 15 kB in Redis (MEMORY USAGE, webhooks-examples). */
const TYPICAL_EVENT_BYTES = 15_000;

describe('Redis in infra/docker-compose.yml', () => {
  const command = service('redis').command ?? [];

  it('is bounded by maxmemory and never evicts the queue', () => {
    const maxmemory = flagValue(command, '--maxmemory');
    expect(maxmemory, '--maxmemory').toBeDefined();
    const limit = redisBytes(maxmemory as string);
    expect(limit).toBeGreaterThanOrEqual(256 * 1024 ** 2);
    expect(flagValue(command, '--maxmemory-policy')).toBe('noeviction');
    expect(command.filter((part) => part === '--maxmemory-policy')).toHaveLength(1);
    // The default dead-letter cap of typical events leaves most of it to the queue itself.
    expect(loadConfig({}).deadLetterMaxCount * TYPICAL_EVENT_BYTES).toBeLessThan(limit / 4);
  });

  it('is watched by redis_exporter, which Prometheus scrapes', () => {
    const exporter = service('redis-exporter');
    expect(exporter.image).toMatch(/^oliver006\/redis_exporter:v\d+\.\d+\.\d+$/);
    const address = new URL(String(exporter.environment?.REDIS_ADDR));
    expect(address.hostname).toBe('redis');
    expect(address.port).toBe('6379');
    expect(exporter.depends_on?.redis?.condition).toBe('service_healthy');
    expect(exporter.expose).toEqual(['9121']);
    expect(exporter.ports, 'not published').toBeUndefined();

    const targets = prometheus.scrape_configs.flatMap((job) =>
      (job.static_configs ?? []).flatMap((group) =>
        group.targets.map((target) => ({ job: job.job_name, target })),
      ),
    );
    expect(targets).toContainEqual({ job: 'redis', target: 'redis-exporter:9121' });
    expect(prometheus.rule_files).toContain('redis-alerts.yml');
    expect(service('prometheus').volumes).toContain(
      './prometheus/redis-alerts.yml:/etc/prometheus/redis-alerts.yml:ro',
    );
  });
});

describe('infra/prometheus/redis-alerts.yml', () => {
  it('warns before Redis reaches maxmemory, and critically just before', () => {
    const ratio = /redis_memory_used_bytes\s*\/\s*\(redis_memory_max_bytes\s*>\s*0\)\s*>\s*(0\.\d+)/;
    const thresholds = redisRules
      .map((rule) => ({ rule, threshold: ratio.exec(rule.expr)?.[1] }))
      .filter((found) => found.threshold !== undefined);
    const warning = thresholds.find((found) => found.rule.labels?.severity === 'warning');
    const critical = thresholds.find((found) => found.rule.labels?.severity === 'critical');
    expect(Number(warning?.threshold)).toBeLessThanOrEqual(0.8);
    expect(Number(critical?.threshold)).toBeGreaterThan(Number(warning?.threshold));
    expect(Number(critical?.threshold)).toBeLessThan(1);
    // A division by a maxmemory of 0 (unlimited) must not fire: the filter `> 0` drops it.
    for (const found of thresholds) expect(found.rule.for, found.rule.alert).toMatch(/^\d+m$/);
    expect(redisRules.some((rule) => /predict_linear\(redis_memory_used_bytes\[/.test(rule.expr))).toBe(true);
  });

  it('fires when Redis may evict or grow without bound, and when nothing watches it', () => {
    const misconfigured = redisRules.find((rule) => rule.expr.includes('maxmemory_policy!="noeviction"'));
    expect(misconfigured?.expr).toContain('redis_memory_max_bytes == 0');
    expect(redisRules.some((rule) => rule.expr.trim() === 'absent(redis_up == 1)')).toBe(true);
  });

  it('names only redis_exporter series, and has a severity and an explanation for each alert', () => {
    const exporterSeries = new Set([
      'redis_memory_used_bytes',
      'redis_memory_max_bytes',
      'redis_instance_info',
      'redis_up',
    ]);
    for (const rule of redisRules) {
      for (const [name] of rule.expr.matchAll(/\bredis_[a-z_]+\b/g)) {
        expect(exporterSeries.has(name), `${rule.alert}: ${name}`).toBe(true);
      }
      expect(['warning', 'critical']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
    }
    const names = [...rulesOf('alerts.yml'), ...redisRules].map((rule) => rule.alert);
    expect(new Set(names).size, 'alert names are unique across both files').toBe(names.length);
  });
});

describe('infra/prometheus/alerts.yml', () => {
  it('still notices new dead letters once the cap keeps their count flat', () => {
    const rule = rulesOf('alerts.yml').find(
      (candidate) => candidate.alert === 'RunnerPlannerDeadLettersGrowing',
    );
    expect(rule?.expr).toContain('runner_planner_queue_jobs{state="failed"}');
    expect(rule?.expr).toContain('runner_planner_worker_events_processed_total{outcome="dead_lettered"}');
  });
});

describe('published ports', () => {
  it('binds every published port to 127.0.0.1 except the gateway, which the forges must reach', () => {
    const exposed: string[] = [];
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const entry of definition.ports ?? []) {
        const { ip, port } = published(entry);
        if (ip !== '127.0.0.1') exposed.push(`${name}:${port}`);
      }
    }
    expect(exposed).toEqual([`gateway:${loadConfig({}).gatewayPort}`]);
    expect((service('planner').ports ?? []).map(published)).toEqual([
      { ip: '127.0.0.1', port: loadConfig({}).plannerPort },
    ]);
    for (const name of ['postgres', 'redis', 'worker', 'redis-exporter']) {
      expect(service(name).ports, `${name} is not published`).toBeUndefined();
    }
  });
});

describe('limits on refused lookups and dead letters reach the worker', () => {
  const variables = [
    'FORGE_REFUSED_TRIES',
    'FORGE_REFUSED_RETRY_DELAY',
    'DEAD_LETTER_MAX_COUNT',
    'DEAD_LETTER_MAX_AGE',
  ];

  it('in compose, the Kubernetes ConfigMap and env.example, with the defaults the worker applies', () => {
    for (const variable of variables) {
      expect(Object.keys(service('worker').environment ?? {}), variable).toContain(variable);
      expect(read('infra', 'docker', 'env.example')).toMatch(new RegExp(`^${variable}=$`, 'm'));
    }
    const configMap = parse(read('infra', 'kubernetes', 'configmap.yaml')) as {
      data: Record<string, string>;
    };
    const fromConfigMap = loadConfig(configMap.data);
    const defaults = loadConfig({});
    for (const key of [
      'forgeRefusedTries',
      'forgeRefusedRetryMs',
      'deadLetterMaxCount',
      'deadLetterMaxAgeMs',
    ] as const) {
      expect(fromConfigMap[key], key).toBe(defaults[key]);
    }
    expect(defaults).toMatchObject({
      forgeRefusedTries: 3,
      forgeRefusedRetryMs: 60_000,
      deadLetterMaxCount: 5_000,
      deadLetterMaxAgeMs: 7 * 86_400_000,
    });
  });

  it('documented in the README configuration table and the runbook', () => {
    const table = read('README.md');
    for (const variable of variables) expect(table).toMatch(new RegExp(`^\\| \`${variable}\` \\|`, 'm'));
    const runbook = read('docs', 'runbook-lost-webhooks.md');
    expect(runbook).toContain('## Dead letters are capped');
    for (const variable of variables) expect(runbook).toContain(variable);
  });
});
