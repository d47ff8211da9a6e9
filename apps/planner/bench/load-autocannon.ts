// A load generator process: autocannon GETs one URL, a warm-up and then the measured run; the
// result goes back over IPC.
import autocannon from 'autocannon';

export interface AutocannonInput {
  url: string;
  token: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
}

export interface AutocannonOutput {
  seconds: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** 2xx responses ÷ duration. */
  okPerSecond: number;
  latency: { p50Ms: number; p90Ms: number; p99Ms: number; maxMs: number; meanMs: number };
}

function run(input: AutocannonInput, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url: input.url,
    method: 'GET',
    connections: input.connections,
    duration: seconds,
    headers: { authorization: `Bearer ${input.token}` },
  });
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '') as AutocannonInput;
  if (input.warmupSeconds > 0) await run(input, input.warmupSeconds);
  process.send?.({ type: 'measuring' });
  const result = await run(input, input.seconds);
  const output: AutocannonOutput = {
    seconds: result.duration,
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    okPerSecond: result['2xx'] / result.duration,
    latency: {
      p50Ms: result.latency.p50,
      p90Ms: result.latency.p90,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      meanMs: result.latency.average,
    },
  };
  process.send?.({ type: 'result', result: output }, () => process.exit(0));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
