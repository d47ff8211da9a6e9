// The stream client: its own process, opening thousands of pressure streams on one planner and
// timing when each receives the line a change causes. Driven over IPC (stream-protocol.ts).
import http from 'node:http';
import { nowMs, sleep } from '@runner-planner/bench-kit';
import type { FromStreamClient, ToStreamClient } from './stream-protocol.js';

interface Stream {
  /** When each line was completely received (index 0: the first line). */
  lineTimes: number[];
  last: string;
  pending: string;
  unchanged: number;
  closed: boolean;
  request?: http.ClientRequest;
}

const OPEN_TIMEOUT_MS = 60_000;
const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
const streams: Stream[] = [];

function send(message: FromStreamClient): void {
  process.send?.(message);
}

function receive(stream: Stream, chunk: string): void {
  const at = nowMs();
  stream.pending += chunk;
  for (let end = stream.pending.indexOf('\n'); end !== -1; end = stream.pending.indexOf('\n')) {
    const line = stream.pending.slice(0, end);
    stream.pending = stream.pending.slice(end + 1);
    if (stream.lineTimes.length > 0 && line === stream.last) stream.unchanged += 1;
    stream.last = line;
    stream.lineTimes.push(at);
  }
}

/** Opens one stream; resolves with ms until its first line, rejects when it fails or times out. */
function open(port: number, token: string, path: string, stream: Stream): Promise<number> {
  const sentAt = nowMs();
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      request.destroy(new Error('no first line in time'));
    }, OPEN_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      stream.closed = true;
      reject(error);
    };
    const request = http.get(
      { host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          fail(new Error(`HTTP ${response.statusCode}`));
          return;
        }
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          receive(stream, chunk);
          if (stream.lineTimes.length === 1) {
            clearTimeout(timer);
            resolve((stream.lineTimes[0] ?? sentAt) - sentAt);
          }
        });
        response.on('close', () => {
          stream.closed = true;
          fail(new Error('stream ended'));
        });
      },
    );
    request.on('error', fail);
    stream.request = request;
  });
}

async function openAll(message: Extract<ToStreamClient, { type: 'open' }>): Promise<void> {
  const startedAt = performance.now();
  const firstLineMs: number[] = [];
  const failures: string[] = [];
  let failed = 0;
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < message.paths.length; i = next++) {
      const stream: Stream = { lineTimes: [], last: '', pending: '', unchanged: 0, closed: false };
      streams.push(stream);
      try {
        firstLineMs.push(await open(message.port, message.token, message.paths[i] ?? '', stream));
      } catch (error) {
        failed += 1;
        if (failures.length < 5) failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: message.concurrency }, worker));
  send({
    type: 'opened',
    open: streams.filter((stream) => !stream.closed).length,
    failed,
    failures,
    seconds: (performance.now() - startedAt) / 1000,
    firstLineMs,
  });
}

async function measureChange(message: Extract<ToStreamClient, { type: 'change' }>): Promise<void> {
  const { index } = message;
  const watched = streams.filter((stream) => stream.lineTimes.length > 0);
  const deadline = performance.now() + message.timeoutMs;
  const pending = () => watched.filter((stream) => !stream.closed && stream.lineTimes.length <= index).length;
  while (pending() > 0 && performance.now() < deadline) await sleep(20);
  // A moment more, so a second line for the same change (there should be none) would show up.
  await sleep(200);
  const fromCommitMs: number[] = [];
  const fromStartMs: number[] = [];
  let extraLines = 0;
  for (const stream of watched) {
    const at = stream.lineTimes[index];
    if (at === undefined) continue;
    fromCommitMs.push(at - message.committedAt);
    fromStartMs.push(at - message.startedAt);
    if (stream.lineTimes.length > index + 1) extraLines += 1;
  }
  send({
    type: 'changed',
    index,
    fromCommitMs,
    fromStartMs,
    missing: pending(),
    extraLines,
    unchangedLines: watched.reduce((sum, stream) => sum + stream.unchanged, 0),
    closed: watched.filter((stream) => stream.closed).length,
  });
}

function closeAll(): void {
  for (const stream of streams) stream.request?.destroy();
  agent.destroy();
  send({ type: 'closed' });
  process.disconnect?.();
  setTimeout(() => process.exit(0), 100);
}

process.on('message', (message: ToStreamClient) => {
  const work =
    message.type === 'open'
      ? openAll(message)
      : message.type === 'change'
        ? measureChange(message)
        : undefined;
  if (message.type === 'close') closeAll();
  work?.catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
