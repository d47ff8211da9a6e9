// test/soak imports this path: the probes are @runner-planner/bench-kit's.
export { type CpuUsage, formatCpu, pidsOf, probeCpu } from '@runner-planner/bench-kit';
