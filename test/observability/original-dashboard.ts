import type { AppName } from '../support/apps.js';

/** One query of the original planner's dashboard: a metric, and the labels it filters, groups or shows. */
export interface OriginalQuery {
  panel: string;
  metric: string;
  /** Labels the query needs on the metric (`juju_*` come from the Juju scrape, not from the app). */
  labels: string[];
  /** Which of our apps exports it. */
  app: AppName;
}

/**
 * Every metric and label the original planner's Grafana dashboard queries, written out from its
 * PromQL (canonical/github-runner-operators, charms/planner-operator/cos_custom/grafana_dashboards/go.json),
 * so that the dashboard, pointed at runner-planner, shows data in every panel.
 */
export const ORIGINAL_DASHBOARD: readonly OriginalQuery[] = [
  // sum(rate(consumed)) + sum(rate(discarded))
  {
    panel: 'Total job ingestion',
    metric: 'github_runner_planner_webhook_consumed_total',
    labels: [],
    app: 'worker',
  },
  {
    panel: 'Total job ingestion',
    metric: 'github_runner_planner_webhook_discarded_total',
    labels: [],
    app: 'worker',
  },
  // max by(flavor) (github_runner_planner_flavor_pressure)
  {
    panel: 'Current pressure of flavors',
    metric: 'github_runner_planner_flavor_pressure',
    labels: ['flavor'],
    app: 'planner',
  },
  // sum(rate(errors)) / (sum(rate(consumed)) + sum(rate(errors)))
  {
    panel: 'Job errors ratio',
    metric: 'github_runner_planner_webhook_errors_total',
    labels: [],
    app: 'worker',
  },
  // sum(rate(running_seconds_sum)) / sum(rate(running_seconds_count))
  {
    panel: 'Average job duration',
    metric: 'github_runner_planner_webhook_job_running_seconds_sum',
    labels: [],
    app: 'worker',
  },
  {
    panel: 'Average job duration',
    metric: 'github_runner_planner_webhook_job_running_seconds_count',
    labels: [],
    app: 'worker',
  },
  // histogram_quantile(0.5 and 0.95, sum by(le) (rate(waiting_seconds_bucket)))
  {
    panel: 'Job queue time',
    metric: 'github_runner_planner_webhook_job_waiting_seconds_bucket',
    labels: ['le'],
    app: 'worker',
  },
  // topk(20, sum by(repo) (increase(running_seconds_count[$__range])))
  {
    panel: 'Top repositories',
    metric: 'github_runner_planner_webhook_job_running_seconds_count',
    labels: ['repo'],
    app: 'worker',
  },
  // sum by(http_route) (rate(…_count{http_route!=""})) or … label_replace(…{http_route=""}, "http_route", "unknown", …)
  {
    panel: 'Request rate (by endpoint)',
    metric: 'http_server_request_duration_seconds_count',
    labels: ['http_route'],
    app: 'planner',
  },
  // histogram_quantile(0.95, sum by(le, http_route) (rate(…_bucket{http_route!="/api/v1/flavors/{name}/pressure"})))
  {
    panel: 'Request duration (by endpoint)',
    metric: 'http_server_request_duration_seconds_bucket',
    labels: ['le', 'http_route'],
    app: 'planner',
  },
  // sum by(http_route) (rate(…_count{http_response_status_code!~"2.."}))
  {
    panel: 'Non-2XX request rate',
    metric: 'http_server_request_duration_seconds_count',
    labels: ['http_route', 'http_response_status_code'],
    app: 'planner',
  },
  // rate(inbound_total) and rate(outbound_total) * -1
  {
    panel: 'Webhook Gateway In/Out',
    metric: 'github_runner_webhook_gateway_inbound_total',
    labels: [],
    app: 'gateway',
  },
  {
    panel: 'Webhook Gateway In/Out',
    metric: 'github_runner_webhook_gateway_outbound_total',
    labels: [],
    app: 'gateway',
  },
  // rate(…) * 60
  {
    panel: 'Webhook Redelivery',
    metric: 'github_runner_webhook_redelivery_count_total',
    labels: [],
    app: 'worker',
  },
  {
    panel: 'Webhook Redelivery Errors',
    metric: 'github_runner_webhook_redelivery_errors_total',
    labels: [],
    app: 'worker',
  },
];

/** The route the original dashboard leaves out of request latencies: pressure streams. */
export const ORIGINAL_PRESSURE_ROUTE = '/api/v1/flavors/{name}/pressure';

/** Each sample of `name` in a text exposition: its labels and value. */
export function samplesOf(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  const found: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1] ?? ''] = label[2] ?? '';
    }
    found.push({ labels, value: Number(match[3]) });
  }
  return found;
}
