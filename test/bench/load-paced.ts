// A load generator process: signed bodies at a fixed rate, open loop (see pacer.ts).

import { randomInt, randomUUID } from 'node:crypto';
import { latency } from '@runner-planner/bench-kit';
import { input, runChild, selfCpu, send } from './child-protocol.js';
import { sendPaced } from './pacer.js';
import { uniqueBody } from './unique-body.js';

export interface PacedInput {
  url: string;
  body: string;
  /** A 10-digit number in `body` each request replaces with its own (see unique-body.ts). */
  marker: string;
  perSecond: number;
  seconds: number;
  warmupSeconds: number;
}

export interface PacedOutput {
  seconds: number;
  /** This process's CPU use during the measured run, in cores. */
  cpuCores: number;
  /** 2xx answers of the warm-up. */
  warmupOk: number;
  requests: number;
  ok: number;
  /** Status (0: no answer) → count. */
  statusCodes: Record<string, number>;
  /** Answers/s actually achieved: requests ÷ (last answer − first due time). */
  answeredPerSecond: number;
  /** From when each request was due to its answer. */
  latency: ReturnType<typeof latency>;
  /** How late the sender itself sent requests (its own scheduling delay). */
  sendLagP99Ms: number;
}

runChild(async () => {
  const options = input<PacedInput>();
  // A random first variant: no other load process resends these bodies (see load-autocannon.ts).
  let sent = randomInt(0, 5_000_000_000);
  const request = () => ({ ...uniqueBody(options.body, options.marker, sent++), delivery: randomUUID() });
  let warmupOk = 0;
  if (options.warmupSeconds > 0) {
    const warmup = await sendPaced({
      url: options.url,
      count: options.perSecond * options.warmupSeconds,
      perSecond: options.perSecond,
      request,
    });
    warmupOk = warmup.filter((outcome) => outcome.status >= 200 && outcome.status < 300).length;
  }
  let cpu: ReturnType<typeof selfCpu> | undefined;
  const outcomes = await sendPaced({
    url: options.url,
    count: options.perSecond * options.seconds,
    perSecond: options.perSecond,
    request,
    onStart: () => {
      send({ event: 'measuring' });
      cpu = selfCpu();
    },
  });
  const cpuCores = cpu?.stop() ?? Number.NaN;
  const statusCodes: Record<string, number> = {};
  for (const outcome of outcomes) statusCodes[outcome.status] = (statusCodes[outcome.status] ?? 0) + 1;
  const first = outcomes[0]?.scheduledAt ?? 0;
  const last = outcomes.reduce((max, outcome) => Math.max(max, outcome.answeredAt), first);
  const lags = latency(outcomes.map((outcome) => outcome.sentAt - outcome.scheduledAt));
  const output: PacedOutput = {
    seconds: (last - first) / 1000,
    cpuCores,
    warmupOk,
    requests: outcomes.length,
    ok: outcomes.filter((outcome) => outcome.status >= 200 && outcome.status < 300).length,
    statusCodes,
    answeredPerSecond: outcomes.length / ((last - first) / 1000),
    latency: latency(outcomes.map((outcome) => outcome.answeredAt - outcome.scheduledAt)),
    sendLagP99Ms: lags.p99Ms,
  };
  send({ event: 'result', result: output });
});
