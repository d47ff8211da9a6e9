import { ConfigError } from '@runner-planner/config';
import { describe, expect, it } from 'vitest';
import { startPlanner } from '../src/index.js';
import { plannerConfig, useDatabase } from './support.js';

const fixture = useDatabase('planner_start');

describe('startPlanner', () => {
  it('refuses to start without DATABASE_URL, saying why', async () => {
    const config = { ...plannerConfig(fixture.url, fixture.prefix), databaseUrl: undefined };
    const error = await startPlanner(config).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/DATABASE_URL: must be set \(.+\)/);
  });

  it('refuses to start without ADMIN_TOKEN, saying why', async () => {
    const config = { ...plannerConfig(fixture.url, fixture.prefix), adminToken: undefined };
    const error = await startPlanner(config).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/ADMIN_TOKEN: must be set \(.+\)/);
  });

  it('migrates, listens on the configured port and serves the API', async () => {
    const planner = await startPlanner(plannerConfig(fixture.url, fixture.prefix), { host: '127.0.0.1' });
    try {
      expect(planner.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${planner.url}/health`);
      expect(await health.json()).toEqual({ status: 'ok' });
      const flavors = await fetch(`${planner.url}/api/v1/flavors`, {
        headers: { authorization: `Bearer ${plannerConfig(fixture.url, fixture.prefix).adminToken}` },
      });
      expect(flavors.status).toBe(200);
    } finally {
      await planner.close();
    }
    await expect(fetch(`${planner.url}/health`)).rejects.toThrow();
  });

  it('starts and closes repeatedly without leaving a Redis command to fail unhandled', async () => {
    const unhandled: unknown[] = [];
    const record = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', record);
    try {
      for (let round = 0; round < 25; round++) {
        const planner = await startPlanner(plannerConfig(fixture.url, fixture.prefix), { host: '127.0.0.1' });
        expect((await fetch(`${planner.url}/health`)).status).toBe(200);
        await planner.close();
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it('can be closed the moment it has started, and fails cleanly when its port is taken', async () => {
    const first = await startPlanner(plannerConfig(fixture.url, fixture.prefix), { host: '127.0.0.1' });
    await first.close();
    const holder = await startPlanner(plannerConfig(fixture.url, fixture.prefix), { host: '127.0.0.1' });
    try {
      const port = Number(new URL(holder.url).port);
      const taken = { ...plannerConfig(fixture.url, fixture.prefix), plannerPort: port };
      await expect(startPlanner(taken, { host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await holder.close();
    }
  });
});
