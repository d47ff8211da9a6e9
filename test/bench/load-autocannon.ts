// A load generator process: autocannon against one URL, a warm-up and then the measured run.
import { randomInt, randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import { input, runChild, selfCpu, send } from './child-protocol.js';
import { uniqueBody } from './unique-body.js';

export interface AutocannonInput {
  url: string;
  body: string;
  /** A 10-digit number in `body` each request replaces with its own (see unique-body.ts). */
  marker: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  /** Requests/s over all connections (autocannon `overallRate`); absent: as fast as possible. */
  overallRate?: number;
}

export interface AutocannonOutput {
  seconds: number;
  /** This process's CPU use during the measured run, in cores. */
  cpuCores: number;
  /** 2xx responses of the warm-up. */
  warmupOk: number;
  /** 2xx responses ÷ duration. */
  okPerSecond: number;
  /** autocannon's own mean of its per-second samples (all responses). */
  requestsPerSecondMean: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  latency: { p50Ms: number; p99Ms: number; maxMs: number; meanMs: number };
}

/**
 * The next body variant: each process starts at a random one, so the warm-up, the measured run
 * and the other side's processes do not resend each other's bodies within the replay window.
 */
let sent = randomInt(0, 5_000_000_000);

function run(options: AutocannonInput, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: options.url,
    method: 'POST',
    connections: options.connections,
    duration: seconds,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'workflow_job',
    },
    // Every request gets its own body, signature and delivery id.
    requests: [
      {
        setupRequest: (request) => {
          const { body, signature } = uniqueBody(options.body, options.marker, sent++);
          return {
            ...request,
            body,
            headers: {
              ...request.headers,
              'x-github-delivery': randomUUID(),
              'x-hub-signature-256': signature,
            },
          };
        },
      },
    ],
    ...(options.overallRate === undefined
      ? {}
      : {
          overallRate: options.overallRate,
          // Without this autocannon back-fills latencies assuming an interval of ceil(1/rate) ms
          // (1 ms for any rate ≥ 1/s), inventing samples; the raw latencies are reported instead.
          ignoreCoordinatedOmission: true,
        }),
  });
}

runChild(async () => {
  const options = input<AutocannonInput>();
  const warmup = options.warmupSeconds > 0 ? await run(options, options.warmupSeconds) : undefined;
  send({ event: 'measuring' });
  const cpu = selfCpu();
  const result = await run(options, options.seconds);
  const cpuCores = cpu.stop();
  const statusCodes: Record<string, number> = {};
  for (const [code, stats] of Object.entries(result.statusCodeStats ?? {}))
    statusCodes[code] = stats.count ?? 0;
  const output: AutocannonOutput = {
    seconds: result.duration,
    cpuCores,
    warmupOk: warmup?.['2xx'] ?? 0,
    okPerSecond: result['2xx'] / result.duration,
    requestsPerSecondMean: result.requests.average,
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    latency: {
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      meanMs: result.latency.average,
    },
  };
  send({ event: 'result', result: output });
});
