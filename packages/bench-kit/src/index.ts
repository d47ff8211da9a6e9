export { Cleanup } from './cleanup.js';
export { type CpuProbe, type CpuUsage, formatCpu, pidsOf, probeCpu, processCpuSeconds } from './cpu.js';
export { adminUrlFromEnv, type DataSize, dataSizeFromEnv, intFromEnv, listFromEnv } from './env.js';
export { memoryMiB } from './memory.js';
export { formatJson, formatLoad, writeJson } from './report.js';
export { exitWhenDone, progressLog } from './run.js';
export { type Latency, latency, nowMs, quantile, roundOrder, sleep } from './stats.js';
