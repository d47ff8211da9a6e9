// test/soak imports this path: the helpers are @runner-planner/bench-kit's.
export { type Latency, latency, nowMs, sleep } from '@runner-planner/bench-kit';
