import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { distinctFreePorts, freePort, isPortFree, preferredPort } from '../src/ports.js';

/** Answers the given ports in turn, as the OS would to successive requests for any port. */
function offering(...ports: number[]) {
  const asked: number[] = [];
  const ask = async () => {
    const port = ports[asked.length] ?? (ports.at(-1) as number);
    asked.push(port);
    return port;
  };
  return { ask, asked };
}

describe('freePort', () => {
  it('gives a port that can be bound', async () => {
    expect(await isPortFree(await freePort())).toBe(true);
  });

  // `start` checked PLANNER_PORT, then the OS offered that same port for the embedded
  // PostgreSQL, and the planner found it taken (seen in CI).
  it('asks again while the OS offers a reserved port', async () => {
    const { ask, asked } = offering(40001, 40001, 40002, 40003);
    expect(await freePort(new Set([40001, 40002]), ask)).toBe(40003);
    expect(asked).toEqual([40001, 40001, 40002, 40003]);
  });

  it('says so when the OS offers nothing but reserved ports', async () => {
    const { ask } = offering(40001);
    await expect(freePort(new Set([40001]), ask)).rejects.toThrow(
      'no free port outside 40001 after 100 tries',
    );
  });
});

describe('preferredPort', () => {
  it('takes the preferred port when it is free and not reserved', async () => {
    const port = await freePort();
    expect(await preferredPort(port)).toBe(port);
  });

  it('takes another when the preferred port is reserved, though free', async () => {
    const port = await freePort();
    const chosen = await preferredPort(port, new Set([port]));
    expect(chosen).not.toBe(port);
    expect(await isPortFree(chosen)).toBe(true);
  });

  it('takes another when the preferred port is in use', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
    const { port } = server.address() as { port: number };
    try {
      expect(await preferredPort(port)).not.toBe(port);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('distinctFreePorts', () => {
  it('gives as many different free ports as asked', async () => {
    const ports = await distinctFreePorts(5);
    expect(new Set(ports).size).toBe(5);
    for (const port of ports) expect(await isPortFree(port)).toBe(true);
  });
});
