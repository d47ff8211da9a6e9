import { createServer } from 'node:net';

/** Resolves whether `port` can be bound on 127.0.0.1 right now. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS considers free at the moment of asking. */
function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const NONE: ReadonlySet<number> = new Set();

/** More than enough: the OS hands out ports in a range of thousands. */
const MAX_ASKS = 100;

/**
 * A port the OS considers free now and that is not `reserved`: ports already promised to
 * something that does not listen yet (`start` checks the apps' ports, then starts Redis and
 * PostgreSQL on free ports, then the apps; the OS may offer an app's port in between).
 */
export async function freePort(
  reserved: ReadonlySet<number> = NONE,
  ask: () => Promise<number> = anyFreePort,
): Promise<number> {
  for (let asked = 0; asked < MAX_ASKS; asked++) {
    const port = await ask();
    if (!reserved.has(port)) return port;
  }
  throw new Error(`no free port outside ${[...reserved].join(', ')} after ${MAX_ASKS} tries`);
}

export async function preferredPort(
  preferred: number,
  reserved: ReadonlySet<number> = NONE,
): Promise<number> {
  return !reserved.has(preferred) && (await isPortFree(preferred)) ? preferred : freePort(reserved);
}

/** `count` free ports, all different: the OS may offer a port it has just offered again. */
export async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(ports));
  return [...ports];
}
