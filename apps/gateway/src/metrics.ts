import { emitterEventNames } from '@octokit/webhooks';
import { type HttpServerObservation, httpMethod, httpServerMetric } from '@runner-planner/http-metrics';
import { Counter, collectDefaultMetrics, Histogram, type Registry } from 'prom-client';
import type { Platform } from './delivery.js';

export const METRIC_PREFIX = 'runner_planner_';

/**
 * A counter whose labels are checked against closed sets before a series is made: label values
 * that come from a request (an event header) are mapped to `other` when not known, so a client
 * cannot create series at will.
 */
export interface LabelledCounter<L extends string> {
  inc(labels: Record<L, string>): void;
}

export interface GatewayMetrics {
  received: LabelledCounter<'platform' | 'event'>;
  rejected: LabelledCounter<'platform' | 'reason'>;
  enqueued: LabelledCounter<'platform' | 'event' | 'result'>;
  ignored: LabelledCounter<'platform' | 'event'>;
  /** Every answered request: ours by route, and the OpenTelemetry HTTP server histogram. */
  observeRequest(observation: HttpServerObservation): void;
}

/** Event names a forge sends; any other header value is counted as `other`. */
const KNOWN_EVENTS: Record<Platform, ReadonlySet<string>> = {
  // The library's list of GitHub's webhook events, without the `event.action` forms.
  github: new Set(emitterEventNames.filter((name) => !name.includes('.'))),
  // GitLab's `X-Gitlab-Event` values (docs: user/project/integrations/webhook_events).
  gitlab: new Set([
    'Push Hook',
    'Tag Push Hook',
    'Issue Hook',
    'Confidential Issue Hook',
    'Note Hook',
    'Confidential Note Hook',
    'Merge Request Hook',
    'Wiki Page Hook',
    'Pipeline Hook',
    'Job Hook',
    'Deployment Hook',
    'Feature Flag Hook',
    'Release Hook',
    'Milestone Hook',
    'Emoji Hook',
    'Resource Access Token Hook',
    'Member Hook',
    'Project Hook',
    'Subgroup Hook',
    'Vulnerability Hook',
    'System Hook',
  ]),
};

const PLATFORMS: ReadonlySet<string> = new Set(['github', 'gitlab']);
const REJECT_REASONS: ReadonlySet<string> = new Set([
  'route_disabled',
  'missing_signature',
  'bad_signature',
  'missing_token',
  'bad_token',
  'too_many_failures',
  'too_large',
  'bad_request',
  'queue_unavailable',
  'not_replicated',
]);
const ENQUEUE_RESULTS: ReadonlySet<string> = new Set(['enqueued', 'duplicate', 'requeued']);

/** The label value of an event header: a known event, `none` when absent, else `other`. */
export function eventLabel(platform: string, event: string): string {
  if (event === '') return 'none';
  return KNOWN_EVENTS[platform as Platform]?.has(event) ? event : 'other';
}

function oneOf(known: ReadonlySet<string>, value: string): string {
  return known.has(value) ? value : 'other';
}

/**
 * Registers the gateway's metrics on `registry`. A registry shared with another app of the same
 * process (the all-in-one start) may already hold them: they are reused, not registered twice.
 *
 * Beside ours, the original gateway's counters under its Prometheus names (docs/observability.md):
 * `github_runner_webhook_gateway_{inbound,inbound_errors,outbound,outbound_errors}_total`.
 */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  if (registry.getSingleMetric(`${METRIC_PREFIX}process_cpu_seconds_total`) === undefined) {
    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  }
  const received = counter(
    registry,
    `${METRIC_PREFIX}webhooks_received_total`,
    'Authenticated webhook deliveries, by event (unknown events: other)',
    ['platform', 'event'],
  );
  const rejected = counter(
    registry,
    `${METRIC_PREFIX}webhooks_rejected_total`,
    'Webhook requests refused, by reason',
    ['platform', 'reason'],
  );
  const enqueued = counter(
    registry,
    `${METRIC_PREFIX}webhooks_enqueued_total`,
    'Deliveries handed to the queue, by outcome',
    ['platform', 'event', 'result'],
  );
  const ignored = counter(
    registry,
    `${METRIC_PREFIX}webhooks_ignored_total`,
    'Authenticated deliveries of events not handled, by event (unknown events: other)',
    ['platform', 'event'],
  );
  const inbound = counter(
    registry,
    'github_runner_webhook_gateway_inbound_total',
    'Webhooks received by the webhook gateway (name of the original planner)',
    [],
  );
  const inboundErrors = counter(
    registry,
    'github_runner_webhook_gateway_inbound_errors_total',
    'Webhooks the webhook gateway failed to receive (name of the original planner)',
    [],
  );
  const outbound = counter(
    registry,
    'github_runner_webhook_gateway_outbound_total',
    'Webhooks transmitted to the queue by the webhook gateway (name of the original planner)',
    [],
  );
  const outboundErrors = counter(
    registry,
    'github_runner_webhook_gateway_outbound_errors_total',
    'Webhooks the webhook gateway failed to transmit to the queue (name of the original planner)',
    [],
  );
  const requestDuration = reuse(
    registry,
    `${METRIC_PREFIX}gateway_request_duration_seconds`,
    (name) =>
      new Histogram({
        name,
        help: 'Gateway HTTP request duration',
        labelNames: ['route', 'method', 'status_code'],
        registers: [registry],
      }),
  );
  const serverDuration = httpServerMetric(registry);

  return {
    received: {
      inc({ platform, event }) {
        received.inc({ platform: oneOf(PLATFORMS, platform), event: eventLabel(platform, event) });
        inbound.inc();
      },
    },
    rejected: {
      inc({ platform, reason }) {
        rejected.inc({ platform: oneOf(PLATFORMS, platform), reason: oneOf(REJECT_REASONS, reason) });
        // The original counted a failed push to the queue as outbound, everything else as inbound.
        if (reason === 'queue_unavailable') outboundErrors.inc();
        else inboundErrors.inc();
      },
    },
    enqueued: {
      inc({ platform, event, result }) {
        enqueued.inc({
          platform: oneOf(PLATFORMS, platform),
          event: eventLabel(platform, event),
          result: oneOf(ENQUEUE_RESULTS, result),
        });
        outbound.inc();
      },
    },
    ignored: {
      inc({ platform, event }) {
        ignored.inc({ platform: oneOf(PLATFORMS, platform), event: eventLabel(platform, event) });
      },
    },
    observeRequest({ route, method, statusCode, seconds }) {
      // The route pattern, not the URL: unknown paths must not create a series each.
      requestDuration.observe(
        { route: route ?? 'unmatched', method: httpMethod(method), status_code: String(statusCode) },
        seconds,
      );
      serverDuration.observe({ route, method, statusCode, seconds });
    },
  };
}

function counter<T extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: T[],
): Counter<T> {
  return reuse(
    registry,
    name,
    (fullName) => new Counter({ name: fullName, help, labelNames, registers: [registry] }),
  );
}

function reuse<M>(registry: Registry, name: string, create: (name: string) => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create(name);
}
