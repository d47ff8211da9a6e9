import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AppName, AppProcess } from '../support/apps.js';
import { useSystem } from '../support/system.js';
import { GITLAB_WEBHOOK_TOKEN, sendGitHub, workflowJobExamples } from '../support/webhooks.js';
import { ORIGINAL_DASHBOARD, ORIGINAL_PRESSURE_ROUTE, samplesOf } from './original-dashboard.js';
import {
  exposition,
  groupingLabels,
  legendLabels,
  matcherLabels,
  metricNames,
  ruleExpressions,
  TARGET_LABELS,
} from './promql.js';

const INFRA = new URL('../../infra/', import.meta.url);
const DASHBOARDS = new URL('grafana/dashboards/', INFRA);
const ALERTS = new URL('prometheus/alerts.yml', INFRA);
const ADMIN_TOKEN = 'planner_v0_observabilityTest_01';
/** The planner shows the per-flavor series only to a scrape with this (as Prometheus is set up). */
const METRICS_TOKEN = 'observability-metrics-token';
/** Series Prometheus makes itself rather than scraping them. */
const PROMETHEUS_SERIES = new Set(['up']);
/** OpenTelemetry's HTTP server histogram: one name on every server by convention, told apart by `job`. */
const SHARED_NAMES = /^http_server_request_duration_seconds_/;
/** Fewer than the repositories whose jobs start or complete in the examples (three). */
const REPO_LIMIT = 2;
/** Event headers no forge sends: an attacker's, to make a series each. */
const MADE_UP_EVENTS = ['x-made-up-1', 'x-made-up-2'];

interface Reference {
  /** Where it is: dashboard file and panel title, or alert name. */
  where: string;
  expr: string;
  /** Legend placeholders, `{{label}}`, that must be labels of the result. */
  legend?: string;
}

interface GrafanaTarget {
  expr?: string;
  legendFormat?: string;
}
interface GrafanaPanel {
  title?: string;
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
}
interface GrafanaVariable {
  name: string;
  type: string;
  query?: string | { query?: string };
}
interface GrafanaDashboard {
  title: string;
  schemaVersion: number;
  panels: GrafanaPanel[];
  templating?: { list: GrafanaVariable[] };
}

/** The uid of every `datasource` object anywhere in a dashboard. */
function datasourceUids(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(datasourceUids);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => {
    if (key === 'datasource' && value !== null && typeof value === 'object' && 'uid' in value) {
      return [String(value.uid)];
    }
    return datasourceUids(value);
  });
}

function dashboardFiles(): string[] {
  return readdirSync(DASHBOARDS)
    .filter((file) => file.endsWith('.json'))
    .sort();
}

function references(): Reference[] {
  const found: Reference[] = [];
  for (const file of dashboardFiles()) {
    const dashboard = JSON.parse(readFileSync(new URL(file, DASHBOARDS), 'utf8')) as GrafanaDashboard;
    const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr === undefined) continue;
        found.push({
          where: `${file} "${panel.title}"`,
          expr: target.expr,
          ...(target.legendFormat ? { legend: target.legendFormat } : {}),
        });
      }
    }
    for (const variable of dashboard.templating?.list ?? []) {
      if (variable.type !== 'query') continue;
      const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? '');
      const labelValues = /^\s*label_values\((.*),\s*(\w+)\s*\)\s*$/.exec(query);
      if (labelValues) {
        found.push({ where: `${file} variable $${variable.name}`, expr: labelValues[1] ?? '' });
        found.push({
          where: `${file} variable $${variable.name}`,
          expr: labelValues[1] ?? '',
          legend: `{{${labelValues[2]}}}`,
        });
      } else {
        found.push({ where: `${file} variable $${variable.name}`, expr: query });
      }
    }
  }
  for (const rule of ruleExpressions(readFileSync(ALERTS, 'utf8'))) {
    found.push({ where: `alerts.yml ${rule.name}`, expr: rule.expr });
  }
  return found;
}

describe('the PromQL reader this test relies on', () => {
  it('finds metric names and labels, and nothing else', () => {
    const expr =
      'histogram_quantile(0.99, sum by (le, route) (rate(foo_seconds_bucket{route=~"/a/.*", x!="y"}[$__rate_interval]))) ' +
      '/ on (route) group_left (z) bar offset 5m > 1e-3 and on () (sum(up{job="a"}) or vector(0)) unless baz';
    expect(metricNames(expr).sort()).toEqual(['bar', 'baz', 'foo_seconds_bucket', 'up']);
    expect(matcherLabels(expr)).toEqual([
      { metric: 'foo_seconds_bucket', labels: ['route', 'x'] },
      { metric: 'up', labels: ['job'] },
    ]);
    expect(groupingLabels(expr).sort()).toEqual(['le', 'route', 'z']);
    expect(legendLabels('p99 {{route}} {{ platform }}')).toEqual(['route', 'platform']);
  });

  it('reads every expression of the alert rules, one-line and block', () => {
    const rules = ruleExpressions(readFileSync(ALERTS, 'utf8'));
    expect(rules.length).toBeGreaterThanOrEqual(8);
    for (const rule of rules) {
      expect(rule.name, rule.expr).not.toBe('');
      expect(metricNames(rule.expr).length, `${rule.name}: ${rule.expr}`).toBeGreaterThan(0);
    }
  });

  it('reads every dashboard, each importable with a templated Prometheus datasource', () => {
    expect(dashboardFiles().length).toBeGreaterThanOrEqual(3);
    for (const file of dashboardFiles()) {
      const text = readFileSync(new URL(file, DASHBOARDS), 'utf8');
      const dashboard = JSON.parse(text) as GrafanaDashboard;
      expect(dashboard.schemaVersion, file).toBeGreaterThanOrEqual(36);
      expect(
        dashboard.templating?.list.some((v) => v.name === 'DS_PROMETHEUS' && v.type === 'datasource'),
      ).toBe(true);
      // Every datasource reference goes through the variable: no uid of somebody's Grafana.
      for (const uid of datasourceUids(dashboard)) {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template.
        expect(['${DS_PROMETHEUS}', '-- Grafana --'], file).toContain(uid);
      }
    }
    expect(references().length).toBeGreaterThan(40);
  });
});

describe('dashboards and alert rules against the running apps', () => {
  const system = useSystem('e2e_observability');
  const scraped = new Map<string, Set<string>>();
  const sources = new Map<string, string>();
  const collisions: string[] = [];
  const texts = new Map<AppName, string>();

  // The other tests read what this one scraped: vitest runs a file's tests in order.
  it('export every series the dashboards are about once traffic went through', async () => {
    const gateway = await system.start('gateway');
    // Keep every example job, so starts and completions are recorded (job waiting/running times).
    const worker = await system.start('worker', {
      GITHUB_SELF_HOSTED_ONLY: 'false',
      METRICS_REPO_LIMIT: String(REPO_LIMIT),
    });
    const planner = await system.start('planner', { ADMIN_TOKEN, METRICS_TOKEN });
    await system.db.addFlavor({
      platform: 'github',
      name: 'observability',
      labels: [],
      priority: 1,
      isDisabled: false,
      minimumPressure: 1,
    });

    // Traffic, so that every labelled series exists: recorded, ignored, dead-lettered, rejected.
    for (const example of workflowJobExamples()) {
      expect((await sendGitHub(gateway.url, example)).status).toBe(202);
    }
    expect((await sendGitHub(gateway.url, { zen: 'hi' }, { event: 'push' })).status).toBe(202);
    for (const event of MADE_UP_EVENTS) {
      expect((await sendGitHub(gateway.url, { zen: 'hi' }, { event })).status).toBe(202);
    }
    const madeUpGitLab = await fetch(`${gateway.url}/webhooks/gitlab`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-gitlab-event': 'Made Up Hook',
        'x-gitlab-token': GITLAB_WEBHOOK_TOKEN,
      },
      body: '{}',
    });
    expect(madeUpGitLab.status).toBe(202);
    expect((await sendGitHub(gateway.url, null, { body: '{"action": "queued", oops' })).status).toBe(202);
    const unsigned = await fetch(`${gateway.url}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'workflow_job',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
      },
      body: '{}',
    });
    expect(unsigned.status).toBe(401);
    await system.drained();

    const authorization = `Bearer ${ADMIN_TOKEN}`;
    expect(
      (await fetch(`${planner.url}/api/v1/flavors/_/pressure`, { headers: { authorization } })).status,
    ).toBe(200);
    expect((await fetch(`${planner.url}/api/v1/flavors`, { headers: { authorization } })).status).toBe(200);

    const apps: AppProcess[] = [gateway, worker, planner];
    for (const app of apps) {
      const headers: Record<string, string> =
        app.name === 'planner' ? { authorization: `Bearer ${METRICS_TOKEN}` } : {};
      const response = await fetch(`${app.url}/metrics`, { headers });
      expect(response.status, `${app.name} /metrics`).toBe(200);
      const text = await response.text();
      texts.set(app.name, text);
      for (const [name, labels] of exposition(text)) {
        const known = scraped.get(name) ?? new Set<string>();
        for (const label of labels) known.add(label);
        scraped.set(name, known);
        const other = sources.get(name);
        if (other !== undefined && other !== app.name && !SHARED_NAMES.test(name))
          collisions.push(`${name}: ${other} and ${app.name}`);
        sources.set(name, app.name);
      }
    }

    for (const name of [
      'runner_planner_webhooks_received_total',
      'runner_planner_worker_events_processed_total',
      'runner_planner_job_waiting_seconds_bucket',
      'runner_planner_pressure',
      'runner_planner_jobs',
      'runner_planner_queue_jobs',
      'runner_planner_pressure_streams',
      'runner_planner_planner_request_duration_seconds_bucket',
    ]) {
      expect(scraped.has(name), name).toBe(true);
    }
  });

  it('every metric a dashboard or alert rule names is exported', () => {
    const missing: string[] = [];
    for (const reference of references()) {
      for (const name of metricNames(reference.expr)) {
        if (!scraped.has(name) && !PROMETHEUS_SERIES.has(name)) {
          missing.push(`${reference.where}: ${name} (in ${reference.expr})`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('every label a dashboard or alert rule selects, groups by or shows is on those metrics', () => {
    const labelsOf = (name: string) =>
      name === 'up' ? TARGET_LABELS : new Set([...(scraped.get(name) ?? []), ...TARGET_LABELS]);
    const wrong: string[] = [];
    for (const reference of references()) {
      for (const { metric, labels } of matcherLabels(reference.expr)) {
        for (const label of labels) {
          if (!labelsOf(metric).has(label))
            wrong.push(`${reference.where}: ${metric} has no label "${label}"`);
        }
      }
      const names = metricNames(reference.expr);
      const available = new Set(names.flatMap((name) => [...labelsOf(name)]));
      const used = [...groupingLabels(reference.expr), ...legendLabels(reference.legend ?? '')];
      for (const label of used) {
        if (!available.has(label)) {
          wrong.push(`${reference.where}: none of ${names.join(', ')} has a label "${label}"`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('each app exports its own names, without collisions', () => {
    // The three apps' default Node.js metrics have distinct prefixes, so one Prometheus can
    // scrape them side by side (and the all-in-one start can share a registry).
    expect(sources.get('runner_planner_process_cpu_seconds_total')).toBe('gateway');
    expect(sources.get('runner_planner_worker_process_cpu_seconds_total')).toBe('worker');
    expect(sources.get('runner_planner_planner_process_cpu_seconds_total')).toBe('planner');
    expect(collisions).toEqual([]);
  });

  it('the original planner’s dashboard finds each metric and label on the app that replaces it', () => {
    const missing: string[] = [];
    for (const query of ORIGINAL_DASHBOARD) {
      const found = exposition(texts.get(query.app) ?? '').get(query.metric);
      if (found === undefined) {
        missing.push(`${query.panel}: ${query.metric} is not on the ${query.app}`);
        continue;
      }
      for (const label of query.labels) {
        if (!found.has(label)) missing.push(`${query.panel}: ${query.metric} has no label "${label}"`);
      }
    }
    expect(missing).toEqual([]);
    // Its latency panel leaves pressure streams out by this exact route: the same placeholders.
    const routes = samplesOf(texts.get('planner') ?? '', 'http_server_request_duration_seconds_count').map(
      (sample) => sample.labels.http_route,
    );
    expect(routes).toContain(ORIGINAL_PRESSURE_ROUTE);
    expect(routes).toContain('/api/v1/flavors');
    expect(routes.filter((route) => route?.includes(':'))).toEqual([]);
    // A flavor's pressure under the original's name, as under ours.
    expect(samplesOf(texts.get('planner') ?? '', 'github_runner_planner_flavor_pressure')).toContainEqual({
      labels: { platform: 'github', flavor: 'observability' },
      value: 1,
    });
  });

  it('repositories past METRICS_REPO_LIMIT are counted as "other"', () => {
    const worker = texts.get('worker') ?? '';
    const starts = workflowJobExamples().filter((example) => example.action === 'in_progress').length;
    const waiting = samplesOf(worker, 'github_runner_planner_webhook_job_waiting_seconds_count');
    const running = samplesOf(worker, 'github_runner_planner_webhook_job_running_seconds_count');
    expect(waiting.map((sample) => sample.labels.repo)).toContain('other');
    // One cap for both histograms: the first REPO_LIMIT repositories seen, whichever event.
    const named = new Set(
      [...waiting, ...running].map((sample) => sample.labels.repo).filter((repo) => repo !== 'other'),
    );
    expect(named.size).toBe(REPO_LIMIT);
    // Every start is counted once, under its name or under "other": none is lost.
    expect(waiting.reduce((sum, sample) => sum + sample.value, 0)).toBe(starts);
    // ARC's name: the same repositories, split the way ARC labels them.
    const arc = samplesOf(worker, 'github_workflow_job_queue_duration_seconds_count');
    expect(arc.reduce((sum, sample) => sum + sample.value, 0)).toBe(starts);
    for (const { labels } of arc) {
      if (labels.repository_full_name === 'other') continue;
      expect(named).toContain(labels.repository_full_name);
      expect(`${labels.owner}/${labels.repository}`).toBe(labels.repository_full_name);
    }
  });

  it('made-up event headers make no series: they are counted as "other"', () => {
    const gateway = texts.get('gateway') ?? '';
    expect(gateway).not.toMatch(/made-up|Made Up/i);
    const count = (name: string, labels: Record<string, string>) =>
      samplesOf(gateway, name).find((sample) => JSON.stringify(sample.labels) === JSON.stringify(labels))
        ?.value;
    expect(count('runner_planner_webhooks_received_total', { platform: 'github', event: 'other' })).toBe(
      MADE_UP_EVENTS.length,
    );
    expect(count('runner_planner_webhooks_ignored_total', { platform: 'github', event: 'other' })).toBe(
      MADE_UP_EVENTS.length,
    );
    expect(count('runner_planner_webhooks_ignored_total', { platform: 'gitlab', event: 'other' })).toBe(1);
    // Known events keep their name.
    expect(count('runner_planner_webhooks_ignored_total', { platform: 'github', event: 'push' })).toBe(1);
  });
});
