import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Handler = (request: IncomingMessage, response: ServerResponse, index: number) => void;

/** A tiny HTTP server standing in for the planner: each request is answered by a scripted handler. */
export interface FakePlanner {
  url: string;
  port: number;
  /** The requests received so far, in order. */
  requests: IncomingMessage[];
  /** Answers request number `index` (0-based); the last handler answers every later request. */
  script(...handlers: Handler[]): void;
  /** Destroys every open connection (as a crash or a network cut would). */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startFakePlanner(port = 0): Promise<FakePlanner> {
  let handlers: Handler[] = [];
  const requests: IncomingMessage[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    const index = requests.length;
    requests.push(request);
    const handler = handlers[Math.min(index, handlers.length - 1)];
    if (handler === undefined) {
      response.writeHead(500, { 'content-type': 'text/plain' }).end('no handler scripted');
      return;
    }
    handler(request, response, index);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const actual = (server.address() as AddressInfo).port;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${actual}`,
    port: actual,
    requests,
    script(...next) {
      handlers = next;
    },
    dropAll,
    close: () =>
      new Promise<void>((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
}

/** Starts an NDJSON answer. */
export function ndjson(response: ServerResponse): ServerResponse {
  response.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
  response.flushHeaders();
  return response;
}

/** A handler that streams these chunks (strings written as they are), pausing `gapMs` between them, then stays open. */
export function streams(chunks: string[], gapMs = 20): Handler {
  return (_request, response) => {
    ndjson(response);
    let index = 0;
    const next = () => {
      if (response.destroyed) return;
      const chunk = chunks[index];
      index += 1;
      if (chunk === undefined) return;
      response.write(chunk);
      setTimeout(next, gapMs);
    };
    next();
  };
}

/** A handler answering `status` with a text body, as the planner reports errors. */
export function fails(status: number, message: string): Handler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
  };
}

/** A handler that writes `chunks` then destroys the connection. */
export function streamsThenDrops(chunks: string[], gapMs = 20): Handler {
  return (_request, response) => {
    ndjson(response);
    let index = 0;
    const next = () => {
      const chunk = chunks[index];
      index += 1;
      if (chunk === undefined) {
        response.socket?.destroy();
        return;
      }
      response.write(chunk);
      setTimeout(next, gapMs);
    };
    next();
  };
}

export function line(snapshot: Record<string, number>): string {
  return `${JSON.stringify(snapshot)}\n`;
}
