import { connect, type Socket } from 'node:net';

/** A raw TCP client that sends what it is given and then keeps the connection as long as it likes. */
export interface SlowClient {
  socket: Socket;
  /** Milliseconds since the connection was started. */
  ageMs(): number;
  /** Milliseconds from the connection's start to its close, undefined while open. */
  closedAfterMs(): number | undefined;
  /** Everything the server answered. */
  received(): string;
  /** Resolves once the connection is closed (by either side). */
  closed: Promise<void>;
  /** Sends one more byte now and then (so the connection is never idle) until closed. */
  trickle(everyMs: number, byte?: string): void;
}

export function slowClient(url: string, first: string | Buffer = ''): SlowClient {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  let closedAt: number | undefined;
  let answer = '';
  let timer: NodeJS.Timeout | undefined;
  const socket = connect(Number(port), hostname);
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    answer += chunk.toString('latin1');
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('close', () => {
      closedAt = Date.now();
      clearInterval(timer);
      resolve();
    });
  });
  if (first.length > 0) socket.write(first);
  return {
    socket,
    ageMs: () => Date.now() - started,
    closedAfterMs: () => (closedAt === undefined ? undefined : closedAt - started),
    received: () => answer,
    closed,
    trickle(everyMs, byte = 'x') {
      timer = setInterval(() => {
        if (!socket.destroyed) socket.write(byte);
      }, everyMs);
    },
  };
}

/** The start of a GitHub webhook POST: headers with a signature-shaped header, then `sent` bytes of a body of `length`. */
export function githubRequestStart(length: number, sent: number): Buffer {
  const head = [
    'POST /webhooks/github HTTP/1.1',
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    'X-GitHub-Event: workflow_job',
    'X-GitHub-Delivery: 00000000-0000-0000-0000-000000000000',
    `X-Hub-Signature-256: sha256=${'0'.repeat(64)}`,
    `Content-Length: ${length}`,
    '',
    '',
  ].join('\r\n');
  return Buffer.concat([Buffer.from(head), Buffer.alloc(sent, 'a')]);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until every client is closed or `ms` have passed, so a server that keeps them fails fast. */
export async function allClosedWithin(clients: SlowClient[], ms: number): Promise<void> {
  await Promise.race([Promise.all(clients.map((client) => client.closed)), sleep(ms)]);
}
