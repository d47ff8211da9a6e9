// An autoscaler loop: follow the planner's pressure and keep that many runners per flavor.
import { PlannerClient } from '@runner-planner/pressure';

const { PLANNER_URL, PLANNER_TOKEN, FLAVOR = '_' } = process.env; // FLAVOR '_' = every flavor
if (!PLANNER_URL || !PLANNER_TOKEN) throw new Error('set PLANNER_URL and PLANNER_TOKEN');

const MAX_RUNNERS = 20;

/** Stub: replace with the call that starts or stops machines of `flavor`. */
async function scale(flavor: string, runners: number): Promise<void> {
  console.log(`${flavor}: want ${runners} runner(s)`);
}

const planner = new PlannerClient({ baseUrl: PLANNER_URL, token: PLANNER_TOKEN });
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
process.once('SIGINT', () => stop.abort());

// The first snapshot at once, then one per change; reconnects by itself, ends on SIGTERM/SIGINT.
const streaming = planner.streamPressure(FLAVOR, {
  signal: stop.signal,
  onReconnect: (reason, delayMs) => console.error(`reconnecting in ${delayMs} ms: ${reason}`),
});
for await (const pressure of streaming) {
  for (const [flavor, jobs] of Object.entries(pressure)) await scale(flavor, Math.min(jobs, MAX_RUNNERS));
}
