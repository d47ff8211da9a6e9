import { Database, InvalidInputError, migrate } from '@runner-planner/database';
import { openTestSql, type TestSql } from '@runner-planner/database/testing';
import { createTestDatabase, startTcpProxy, type TcpProxy } from '@runner-planner/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PressureReader } from '../src/index.js';
import { flavor, job, record, sleep, within } from './support.js';

let url: string;
let drop: () => Promise<void>;
/** Writes as runner-planner's worker would, over its own connections. */
let writer: Database;
let sql: TestSql;
let reader: PressureReader;

beforeAll(async () => {
  ({ url, drop } = await createTestDatabase('pressure_reader'));
  await migrate(url);
  writer = await Database.connect(url);
  sql = openTestSql(url);
  reader = await PressureReader.connect(url);
});

beforeEach(async () => {
  await sql.reset();
});

afterAll(async () => {
  await reader?.close();
  await writer?.close();
  await sql?.end();
  await drop?.();
});

const listenerConnections = () => sql.listenerConnections();

describe('PressureReader.get', () => {
  it('reads the pressure of named flavors, or of every flavor of the platform', async () => {
    await writer.addFlavor(flavor('small'));
    await writer.addFlavor(flavor('large', { minimumPressure: 2 }));
    await writer.addFlavor(flavor('lab', { platform: 'gitlab' }));
    await writer.addJob(job('1', ['small']));
    await writer.addJob(job('2', ['small']));

    expect(await reader.get('github')).toEqual({ small: 2, large: 2 });
    expect(await reader.get('github', 'small')).toEqual({ small: 2 });
    expect(await reader.get('github', 'small', 'unknown')).toEqual({ small: 2 });
    expect(await reader.get('gitlab')).toEqual({ lab: 0 });
    expect(await reader.get('bitbucket')).toEqual({});
    await expect(reader.get('')).rejects.toBeInstanceOf(InvalidInputError);
  });

  it('counts jobs within the staleness window the reader was given', async () => {
    const shortWindow = await PressureReader.connect(url, { staleAfterMs: 60_000 });
    try {
      await writer.addFlavor(flavor('small'));
      await writer.addJob(job('old', ['small'], { createdAt: new Date(Date.now() - 120_000) }));
      await writer.addJob(job('new', ['small']));
      expect(await shortWindow.get('github', 'small')).toEqual({ small: 1 });
      expect(await reader.get('github', 'small')).toEqual({ small: 2 });
    } finally {
      await shortWindow.close();
    }
  });
});

describe('PressureReader.watch', () => {
  it('yields the current snapshot first, then each change', async () => {
    await writer.addFlavor(flavor('small'));
    const watch = reader.watch('github', ['small']);
    try {
      expect((await watch.next()).value).toEqual({ small: 0 });
      await writer.addJob(job('1', ['small']));
      expect((await watch.next()).value).toEqual({ small: 1 });
      await writer.addJob(job('2', ['small']));
      expect((await watch.next()).value).toEqual({ small: 2 });
      await writer.updateJobCompleted('github', '1', new Date());
      expect((await watch.next()).value).toEqual({ small: 1 });
    } finally {
      await watch.return();
    }
  });

  it('does not yield for changes of flavors it does not watch, nor for writes that leave it unchanged', async () => {
    await writer.addFlavor(flavor('small'));
    await writer.addFlavor(flavor('large'));
    const controller = new AbortController();
    const watched = record(reader.watch('github', ['small'], { signal: controller.signal }));
    try {
      await expect.poll(() => watched.values).toEqual([{ small: 0 }]);
      await writer.addJob(job('1', ['large']));
      await writer.addJob(job('2', ['large']));
      await writer.addFlavor(flavor('other', { platform: 'gitlab' }));
      await writer.updateJobStarted('github', '1', new Date());
      await sleep(700);
      expect(watched.values).toEqual([{ small: 0 }]);
      await writer.addJob(job('3', ['small']));
      await expect.poll(() => watched.values).toEqual([{ small: 0 }, { small: 1 }]);
    } finally {
      controller.abort();
    }
  });

  it("with 'all' follows every flavor of the platform, including flavors added later", async () => {
    await writer.addFlavor(flavor('small'));
    const controller = new AbortController();
    const all = record(reader.watch('github', 'all', { signal: controller.signal }));
    try {
      await expect.poll(() => all.values).toEqual([{ small: 0 }]);
      await writer.addFlavor(flavor('large', { minimumPressure: 3 }));
      await expect.poll(() => all.values).toEqual([{ small: 0 }, { large: 3, small: 0 }]);
      await writer.deleteFlavor('github', 'small');
      await expect.poll(() => all.values.at(-1)).toEqual({ large: 3 });
    } finally {
      controller.abort();
    }
    await all.ended;
  });

  it('ends when return() is called, even while waiting for a change', async () => {
    await writer.addFlavor(flavor('small'));
    const watch = reader.watch('github', ['small']);
    expect((await watch.next()).value).toEqual({ small: 0 });
    const pending = watch.next();
    await sleep(100);
    expect(await within(watch.return(), 2_000)).toEqual({ done: true, value: undefined });
    expect(await within(pending, 2_000)).toEqual({ done: true, value: undefined });
    expect(await watch.next()).toEqual({ done: true, value: undefined });
    // Its LISTEN subscription is released: with no watch left, the listener connection closes.
    await expect.poll(listenerConnections, { timeout: 5_000 }).toBe(0);
  });

  it('ends a for-await loop when its signal aborts', async () => {
    await writer.addFlavor(flavor('small'));
    const controller = new AbortController();
    const watched = record(reader.watch('github', ['small'], { signal: controller.signal }));
    await expect.poll(() => watched.values).toEqual([{ small: 0 }]);
    controller.abort();
    expect(await within(watched.ended, 2_000)).toBeUndefined();

    // A watch started with an aborted signal ends at once.
    const late = reader.watch('github', ['small'], { signal: controller.signal });
    expect(await within(late.next(), 2_000)).toEqual({ done: true, value: undefined });
  });

  it('ends every watch when the reader closes', async () => {
    const own = await PressureReader.connect(url);
    await writer.addFlavor(flavor('small'));
    const first = record(own.watch('github', ['small']));
    const second = record(own.watch('github', 'all'));
    await expect.poll(() => first.values.length + second.values.length).toBe(2);
    await own.close();
    expect(await within(first.ended, 2_000)).toBeUndefined();
    expect(await within(second.ended, 2_000)).toBeUndefined();
    await expect(own.get('github')).rejects.toThrow(/closed/);
  });

  it('yields the fresh value after its LISTEN connection is terminated and a change is made meanwhile', async () => {
    await writer.addFlavor(flavor('small'));
    const controller = new AbortController();
    const watched = record(reader.watch('github', ['small'], { signal: controller.signal }));
    try {
      await expect.poll(() => watched.values).toEqual([{ small: 0 }]);
      await expect.poll(listenerConnections).toBe(1);
      await sql.terminateListeners();
      await writer.addJob(job('during', ['small']));
      await expect.poll(() => watched.values, { timeout: 10_000 }).toEqual([{ small: 0 }, { small: 1 }]);
      // It listens again: later changes arrive as before.
      await expect.poll(listenerConnections, { timeout: 10_000 }).toBe(1);
      await writer.addJob(job('after', ['small']));
      await expect.poll(() => watched.values).toEqual([{ small: 0 }, { small: 1 }, { small: 2 }]);
      expect(watched.isEnded()).toBe(false);
    } finally {
      controller.abort();
    }
  });

  it('keeps going through a database outage, retrying reads, and yields what changed during it', async () => {
    const server = new URL(url);
    let proxy: TcpProxy | undefined;
    let cutReader: PressureReader | undefined;
    const controller = new AbortController();
    try {
      proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
      const throughProxy = new URL(url);
      throughProxy.hostname = '127.0.0.1';
      throughProxy.port = String(proxy.port);
      cutReader = await PressureReader.connect(throughProxy.toString());
      await writer.addFlavor(flavor('small'));
      const errors: unknown[] = [];
      const watched = record(
        cutReader.watch('github', ['small'], {
          signal: controller.signal,
          refreshIntervalMs: 100,
          minBackoffMs: 50,
          maxBackoffMs: 200,
          onError: (error) => errors.push(error),
        }),
      );
      await expect.poll(() => watched.values).toEqual([{ small: 0 }]);

      proxy.cut();
      await writer.addJob(job('1', ['small']));
      await writer.addJob(job('2', ['small']));
      await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThan(1);
      expect(watched.values).toEqual([{ small: 0 }]);
      expect(watched.isEnded()).toBe(false);

      proxy.restore();
      await expect.poll(() => watched.values, { timeout: 15_000 }).toEqual([{ small: 0 }, { small: 2 }]);
      await writer.updateJobCompleted('github', '1', new Date());
      await expect.poll(() => watched.values.at(-1), { timeout: 10_000 }).toEqual({ small: 1 });
      expect(watched.isEnded()).toBe(false);
    } finally {
      controller.abort();
      await cutReader?.close();
      await proxy?.close();
    }
  });

  it('ends with an error for arguments the database rejects', async () => {
    await expect(reader.watch('', 'all').next()).rejects.toBeInstanceOf(InvalidInputError);
    expect(() => reader.watch('github', [])).toThrow(InvalidInputError);
  });
});
