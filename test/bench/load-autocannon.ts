// A load generator process: autocannon against one URL, a warm-up and then the measured run.
import autocannon from 'autocannon';
import { input, runChild, selfCpu, send } from './child-protocol.js';

export interface AutocannonInput {
  url: string;
  body: string;
  signature: string;
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

function run(options: AutocannonInput, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: options.url,
    method: 'POST',
    connections: options.connections,
    duration: seconds,
    // Every request gets its own delivery id: `[<id>]` is replaced anywhere in the request.
    idReplacement: true,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/bench',
      'x-github-event': 'workflow_job',
      'x-github-delivery': '[<id>]',
      'x-hub-signature-256': options.signature,
    },
    body: options.body,
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
