import { Counter, collectDefaultMetrics, Histogram, type Registry } from 'prom-client';

export const METRIC_PREFIX = 'runner_planner_';

export interface GatewayMetrics {
  received: Counter<'platform' | 'event'>;
  rejected: Counter<'platform' | 'reason'>;
  enqueued: Counter<'platform' | 'event' | 'result'>;
  ignored: Counter<'platform' | 'event'>;
  requestDuration: Histogram<'route' | 'method' | 'status_code'>;
}

/**
 * Registers the gateway's metrics on `registry`. A registry shared with another app of the same
 * process (the all-in-one start) may already hold them: they are reused, not registered twice.
 */
export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  if (registry.getSingleMetric(`${METRIC_PREFIX}process_cpu_seconds_total`) === undefined) {
    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  }
  return {
    received: counter(registry, 'webhooks_received_total', 'Authenticated webhook deliveries', [
      'platform',
      'event',
    ]),
    rejected: counter(registry, 'webhooks_rejected_total', 'Webhook requests refused, by reason', [
      'platform',
      'reason',
    ]),
    enqueued: counter(registry, 'webhooks_enqueued_total', 'Deliveries handed to the queue, by outcome', [
      'platform',
      'event',
      'result',
    ]),
    ignored: counter(registry, 'webhooks_ignored_total', 'Authenticated deliveries of events not handled', [
      'platform',
      'event',
    ]),
    requestDuration: reuse(registry, 'gateway_request_duration_seconds', (name) => {
      return new Histogram({
        name,
        help: 'Gateway HTTP request duration',
        labelNames: ['route', 'method', 'status_code'],
        registers: [registry],
      });
    }),
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

function reuse<M>(registry: Registry, name: string, create: (fullName: string) => M): M {
  const fullName = `${METRIC_PREFIX}${name}`;
  return (registry.getSingleMetric(fullName) as M | undefined) ?? create(fullName);
}
