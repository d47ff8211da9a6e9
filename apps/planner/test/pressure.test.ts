import { describe, expect, it } from 'vitest';
import { call, flavor, job, usePlanner } from './support.js';

const fixture = usePlanner('planner_pressure');

describe('GET /api/v1/flavors/{name}/pressure', () => {
  it('answers {"<name>": n}', async () => {
    await fixture.db.addFlavor(flavor('large', { labels: ['large'] }));
    await fixture.db.addFlavor(flavor('small', { labels: ['small'] }));
    await fixture.db.addJob(job(['large']));
    await fixture.db.addJob(job(['large']));
    const response = await call(fixture.app, 'GET', '/api/v1/flavors/large/pressure');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual({ large: 2 });
  });

  it('counts the minimum pressure and disabled flavors as the database does', async () => {
    await fixture.db.addFlavor(flavor('warm', { minimumPressure: 3 }));
    await fixture.db.addFlavor(flavor('off', { isDisabled: true }));
    expect((await call(fixture.app, 'GET', '/api/v1/flavors/warm/pressure')).json()).toEqual({ warm: 3 });
    expect((await call(fixture.app, 'GET', '/api/v1/flavors/off/pressure')).json()).toEqual({ off: 0 });
  });

  it('finds flavors of every platform', async () => {
    await fixture.db.addFlavor(flavor('runner', { platform: 'gitlab', labels: ['docker'] }));
    await fixture.db.addJob(job(['docker'], { platform: 'gitlab' }));
    expect((await call(fixture.app, 'GET', '/api/v1/flavors/runner/pressure')).json()).toEqual({ runner: 1 });
  });

  it('answers every GitHub flavor for "_", another platform or all of them when asked', async () => {
    await fixture.db.addFlavor(flavor('b', { platform: 'gitlab' }));
    await fixture.db.addFlavor(flavor('a', { minimumPressure: 1 }));
    await fixture.db.addFlavor(flavor('c'));
    await fixture.db.addJob(job(['c']));
    const response = await call(fixture.app, 'GET', '/api/v1/flavors/_/pressure');
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('{"a":1,"c":1}\n');
    const all = await call(fixture.app, 'GET', '/api/v1/flavors/_/pressure?platform=all');
    expect(all.body).toBe('{"a":1,"b":0,"c":1}\n');
    const gitlab = await call(fixture.app, 'GET', '/api/v1/flavors/_/pressure?platform=gitlab');
    expect(gitlab.body).toBe('{"b":0}\n');
  });

  it('answers 404 for an unknown flavor, and for "_" without flavors', async () => {
    for (const name of ['nope', '_', '-']) {
      const response = await call(fixture.app, 'GET', `/api/v1/flavors/${name}/pressure`);
      expect(response.statusCode).toBe(404);
      expect(response.body).toBe('flavor not found\n');
      expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    }
  });

  it('answers 404 to a stream request for an unknown flavor', async () => {
    const response = await call(fixture.app, 'GET', '/api/v1/flavors/nope/pressure?stream=true');
    expect(response.statusCode).toBe(404);
    expect(response.body).toBe('flavor not found\n');
    expect(fixture.app.pressureHub.size).toBe(0);
    expect(fixture.app.pressureHub.active).toBe(false);
  });

  it('answers a plain JSON value for stream=false', async () => {
    await fixture.db.addFlavor(flavor('large'));
    const response = await call(fixture.app, 'GET', '/api/v1/flavors/large/pressure?stream=false');
    expect(response.json()).toEqual({ large: 0 });
  });

  it('answers plain JSON to any stream value but "true", as the original did', async () => {
    await fixture.db.addFlavor(flavor('large'));
    for (const value of ['yes-please', '1', 't', '']) {
      const response = await call(fixture.app, 'GET', `/api/v1/flavors/large/pressure?stream=${value}`);
      expect(response.statusCode).toBe(200);
      expect(response.body).toBe('{"large":0}\n');
    }
  });
});
