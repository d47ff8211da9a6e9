import { describe, expect, it } from 'vitest';
import { call, flavor, job, usePlanner } from './support.js';

const fixture = usePlanner('planner_flavors');

const FULL = {
  platform: 'github',
  labels: ['X64', 'large', 'x64'],
  priority: 5,
  is_disabled: false,
  minimum_pressure: 2,
};

function expectText(
  response: { statusCode: number; body: string; headers: Record<string, unknown> },
  status: number,
  body: string,
) {
  expect(response.statusCode).toBe(status);
  expect(response.body).toBe(`${body}\n`);
  expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
}

describe('POST /api/v1/flavors/{name}', () => {
  it('creates the flavor: 201 with an empty body', async () => {
    const response = await call(fixture.app, 'POST', '/api/v1/flavors/large', { body: FULL });
    expect(response.statusCode).toBe(201);
    expect(response.body).toBe('');
    expect(await fixture.db.getFlavor('large')).toEqual({
      platform: 'github',
      name: 'large',
      labels: ['x64', 'large', 'x64'],
      priority: 5,
      isDisabled: false,
      minimumPressure: 2,
    });
  });

  it('answers 409 when the name is taken, on any platform', async () => {
    await fixture.db.addFlavor(flavor('large', { platform: 'gitlab' }));
    expectText(
      await call(fixture.app, 'POST', '/api/v1/flavors/large', { body: FULL }),
      409,
      'flavor already exists',
    );
  });

  it('gives missing fields their zero values, except platform', async () => {
    expect(
      (await call(fixture.app, 'POST', '/api/v1/flavors/bare', { body: { platform: 'gitlab' } })).statusCode,
    ).toBe(201);
    expect(await fixture.db.getFlavor('bare')).toEqual({
      platform: 'gitlab',
      name: 'bare',
      labels: [],
      priority: 0,
      isDisabled: false,
      minimumPressure: 0,
      runUntagged: true,
    });
  });

  it('treats JSON null fields as missing and ignores unknown fields', async () => {
    const body = { platform: 'github', labels: null, priority: null, name: 'other', extra: { a: 1 } };
    expect((await call(fixture.app, 'POST', '/api/v1/flavors/nulls', { body })).statusCode).toBe(201);
    expect(await fixture.db.getFlavor('nulls')).toMatchObject({ name: 'nulls', labels: [], priority: 0 });
  });

  it('reads the body as JSON whatever its content type', async () => {
    const response = await call(fixture.app, 'POST', '/api/v1/flavors/typed', {
      body: JSON.stringify({ platform: 'github' }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(response.statusCode).toBe(201);
  });

  it('creates a disabled flavor', async () => {
    await call(fixture.app, 'POST', '/api/v1/flavors/off', { body: { ...FULL, is_disabled: true } });
    expect((await fixture.db.getFlavor('off')).isDisabled).toBe(true);
  });

  it.each([
    ['a missing platform', { labels: ['a'] }, 'platform must be a non-empty string'],
    ['an empty platform', { platform: '' }, 'platform must be a non-empty string'],
    ['a blank platform', { platform: '  ' }, 'platform must be a non-empty string'],
    ['a numeric platform', { platform: 1 }, 'platform must be a non-empty string'],
    ['an unknown platform', { platform: 'bitbucket' }, 'platform must be one of github, gitlab'],
    [
      'labels that are not an array',
      { platform: 'github', labels: 'x64' },
      'labels must be an array of strings',
    ],
    [
      'labels with a number',
      { platform: 'github', labels: ['x64', 3] },
      'labels must be an array of strings',
    ],
    ['a fractional priority', { platform: 'github', priority: 1.5 }, 'priority must be an integer'],
    ['a string priority', { platform: 'github', priority: '1' }, 'priority must be an integer'],
    ['a huge priority', { platform: 'github', priority: 2 ** 40 }, 'priority must be between'],
    [
      'a negative minimum pressure',
      { platform: 'github', minimum_pressure: -1 },
      'minimum_pressure must be a non-negative integer',
    ],
    [
      'a fractional minimum pressure',
      { platform: 'github', minimum_pressure: 0.5 },
      'minimum_pressure must be a non-negative integer',
    ],
    [
      'a string is_disabled',
      { platform: 'github', is_disabled: 'true' },
      'is_disabled must be true or false',
    ],
  ])('answers 400 to %s', async (_case, body, message) => {
    const response = await call(fixture.app, 'POST', '/api/v1/flavors/bad', { body });
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/^invalid payload: /);
    expect(response.body).toContain(message);
    expect(response.headers['content-type']).toBe('text/plain; charset=utf-8');
    await expect(fixture.db.listFlavors('github')).resolves.toEqual([]);
  });

  it('names every bad field at once', async () => {
    const response = await call(fixture.app, 'POST', '/api/v1/flavors/bad', {
      body: { platform: '', labels: 'a', priority: 'high' },
    });
    expect(response.body).toBe(
      'invalid payload: platform must be a non-empty string; labels must be an array of strings; priority must be an integer\n',
    );
  });

  it.each([
    ['not JSON', '{"platform": "github"'],
    ['an empty body', ''],
    ['a JSON array', '[1, 2]'],
    ['a JSON string', '"github"'],
  ])('answers 400 invalid payload to %s', async (_case, body) => {
    const response = await call(fixture.app, 'POST', '/api/v1/flavors/bad', { body });
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/^invalid payload: .+\n$/);
  });

  it('refuses the reserved names', async () => {
    for (const name of ['_', '-']) {
      const response = await call(fixture.app, 'POST', `/api/v1/flavors/${name}`, { body: FULL });
      expect(response.statusCode).toBe(400);
      expect(response.body).toContain('reserved');
    }
  });

  it('refuses a name with a slash', async () => {
    const response = await call(fixture.app, 'POST', '/api/v1/flavors/a%2Fb', { body: FULL });
    expect(response.statusCode).toBe(400);
    expect(response.body).toContain('must not contain "/"');
  });

  it('assigns waiting jobs to the new flavor', async () => {
    await fixture.db.addJob(job(['large']));
    await call(fixture.app, 'POST', '/api/v1/flavors/large', { body: FULL });
    expect(await fixture.db.getPressures('github', 'large')).toEqual({ large: 2 });
    await call(fixture.app, 'POST', '/api/v1/flavors/big', {
      body: { ...FULL, labels: ['large'], minimum_pressure: 0, priority: 9 },
    });
    expect(await fixture.db.getPressures('github')).toEqual({ large: 2, big: 0 });
  });
});

describe('run_untagged (GitLab flavors only)', () => {
  const gitlab = (body: Record<string, unknown>) => ({ platform: 'gitlab', labels: ['docker'], ...body });
  const read = async (name: string) => (await call(fixture.app, 'GET', `/api/v1/flavors/${name}`)).json();

  it.each([
    ['true', { run_untagged: true }, true],
    ['false', { run_untagged: false }, false],
    ['absent (a flavor with labels takes no untagged jobs)', {}, false],
    ['null, as if absent', { run_untagged: null }, false],
  ])('stores a gitlab flavor with labels and run_untagged %s', async (_case, body, stored) => {
    const response = await call(fixture.app, 'POST', '/api/v1/flavors/docker', { body: gitlab(body) });
    expect(response.statusCode).toBe(201);
    expect(await read('docker')).toEqual({
      platform: 'gitlab',
      name: 'docker',
      labels: ['docker'],
      priority: 0,
      is_disabled: false,
      minimum_pressure: 0,
      run_untagged: stored,
    });
  });

  it('defaults to true for a gitlab flavor without labels', async () => {
    await call(fixture.app, 'POST', '/api/v1/flavors/any', { body: { platform: 'gitlab' } });
    expect(await read('any')).toMatchObject({ labels: [], run_untagged: true });
  });

  it('decides whether untagged jobs go to the flavor', async () => {
    await fixture.db.addJob(job([], { platform: 'gitlab' }));
    await call(fixture.app, 'POST', '/api/v1/flavors/no', { body: gitlab({ run_untagged: false }) });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ no: 0 });
    await call(fixture.app, 'POST', '/api/v1/flavors/yes', { body: gitlab({ run_untagged: true }) });
    expect(await fixture.db.getPressures('gitlab')).toEqual({ no: 0, yes: 1 });
  });

  it.each([
    ['a string', 'true'],
    ['a number', 1],
    ['an object', { value: true }],
  ])('answers 400 naming the field to %s', async (_case, value) => {
    expectText(
      await call(fixture.app, 'POST', '/api/v1/flavors/bad', { body: gitlab({ run_untagged: value }) }),
      400,
      'invalid payload: run_untagged must be true or false',
    );
    await expect(fixture.db.listFlavors('gitlab')).resolves.toEqual([]);
  });

  it('answers 400 with the domain’s reason to false on a gitlab flavor without labels', async () => {
    expectText(
      await call(fixture.app, 'POST', '/api/v1/flavors/bad', {
        body: { platform: 'gitlab', run_untagged: false },
      }),
      400,
      'invalid payload: a gitlab flavor without labels takes untagged jobs: runUntagged cannot be false',
    );
    await expect(fixture.db.listFlavors('gitlab')).resolves.toEqual([]);
  });

  it.each([true, false])('answers 400 with the domain’s reason to %s on a github flavor', async (value) => {
    expectText(
      await call(fixture.app, 'POST', '/api/v1/flavors/bad', { body: { ...FULL, run_untagged: value } }),
      400,
      'invalid payload: runUntagged applies to gitlab flavors only',
    );
    await expect(fixture.db.listFlavors('github')).resolves.toEqual([]);
  });

  it('leaves the JSON of a github flavor as the original v1 API wrote it', async () => {
    await call(fixture.app, 'POST', '/api/v1/flavors/large', { body: { ...FULL, run_untagged: null } });
    const expected = {
      platform: 'github',
      name: 'large',
      labels: ['x64', 'large', 'x64'],
      priority: 5,
      is_disabled: false,
      minimum_pressure: 2,
    };
    expect(await read('large')).toEqual(expected);
    expect((await call(fixture.app, 'GET', '/api/v1/flavors')).json()).toEqual([expected]);
  });
});

describe('GET /api/v1/flavors', () => {
  it('lists the flavors of every platform with ?platform=all, in snake_case, by name', async () => {
    await fixture.db.addFlavor(flavor('b-gitlab', { platform: 'gitlab', labels: ['docker'], priority: 3 }));
    await fixture.db.addFlavor(flavor('a-github', { isDisabled: true, minimumPressure: 4 }));
    const response = await call(fixture.app, 'GET', '/api/v1/flavors?platform=all');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual([
      {
        platform: 'github',
        name: 'a-github',
        labels: ['a-github'],
        priority: 0,
        is_disabled: true,
        minimum_pressure: 4,
      },
      {
        platform: 'gitlab',
        name: 'b-gitlab',
        labels: ['docker'],
        priority: 3,
        is_disabled: false,
        minimum_pressure: 0,
        run_untagged: false,
      },
    ]);
  });

  it('answers an empty array without flavors', async () => {
    expect((await call(fixture.app, 'GET', '/api/v1/flavors')).json()).toEqual([]);
  });
});

describe('GET /api/v1/flavors/{name}', () => {
  it('returns the flavor', async () => {
    await fixture.db.addFlavor(flavor('small', { labels: ['Small', 'arm64'], priority: 2 }));
    const response = await call(fixture.app, 'GET', '/api/v1/flavors/small');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      platform: 'github',
      name: 'small',
      labels: ['small', 'arm64'],
      priority: 2,
      is_disabled: false,
      minimum_pressure: 0,
    });
  });

  it('answers 404 for an unknown name and 400 for `_`, in the original’s words', async () => {
    expectText(await call(fixture.app, 'GET', '/api/v1/flavors/nope'), 404, 'cannot get flavor');
    expectText(await call(fixture.app, 'GET', '/api/v1/flavors/-'), 404, 'cannot get flavor');
    expectText(await call(fixture.app, 'GET', '/api/v1/flavors/_'), 400, 'get all flavors is not supported');
  });
});

describe('PATCH /api/v1/flavors/{name}', () => {
  it('disables and enables the flavor, moving its jobs', async () => {
    await fixture.db.addFlavor(flavor('small', { labels: ['x'] }));
    await fixture.db.addFlavor(flavor('spare', { labels: ['x'], priority: -1 }));
    await fixture.db.addJob(job(['x']));
    expect(await fixture.db.getPressures('github')).toEqual({ small: 1, spare: 0 });

    const off = await call(fixture.app, 'PATCH', '/api/v1/flavors/small', { body: { is_disabled: true } });
    expect(off.statusCode).toBe(204);
    expect(off.body).toBe('');
    expect((await fixture.db.getFlavor('small')).isDisabled).toBe(true);
    expect(await fixture.db.getPressures('github')).toEqual({ small: 0, spare: 1 });

    const on = await call(fixture.app, 'PATCH', '/api/v1/flavors/small', { body: { is_disabled: false } });
    expect(on.statusCode).toBe(204);
    expect((await fixture.db.getFlavor('small')).isDisabled).toBe(false);
  });

  it('ignores every other field (clients send the whole flavor back)', async () => {
    await fixture.db.addFlavor(flavor('small', { labels: ['x'], priority: 1 }));
    const body = {
      platform: 'gitlab',
      name: 'other',
      labels: ['y'],
      priority: 99,
      is_disabled: true,
      minimum_pressure: 7,
    };
    expect((await call(fixture.app, 'PATCH', '/api/v1/flavors/small', { body })).statusCode).toBe(204);
    expect(await fixture.db.getFlavor('small')).toEqual(
      flavor('small', { labels: ['x'], priority: 1, isDisabled: true }),
    );
  });

  it('answers 404 for an unknown flavor', async () => {
    expectText(
      await call(fixture.app, 'PATCH', '/api/v1/flavors/nope', { body: { is_disabled: true } }),
      404,
      'cannot find flavor to update',
    );
  });

  it.each([
    ['a missing is_disabled', { priority: 3 }, 'is_disabled field is required'],
    ['a null is_disabled', { is_disabled: null }, 'is_disabled field is required'],
    ['a string is_disabled', { is_disabled: 'yes' }, 'invalid payload: is_disabled must be true or false'],
    ['a numeric is_disabled', { is_disabled: 1 }, 'invalid payload: is_disabled must be true or false'],
  ])('answers 400 to %s', async (_case, body, message) => {
    await fixture.db.addFlavor(flavor('small'));
    expectText(await call(fixture.app, 'PATCH', '/api/v1/flavors/small', { body }), 400, message);
  });

  it('answers 400 to a body that is not JSON', async () => {
    await fixture.db.addFlavor(flavor('small'));
    const response = await call(fixture.app, 'PATCH', '/api/v1/flavors/small', { body: 'is_disabled=true' });
    expect(response.statusCode).toBe(400);
    expect(response.body).toMatch(/^invalid payload: /);
  });
});

describe('DELETE /api/v1/flavors/{name}', () => {
  it('deletes the flavor: 200, then it is gone', async () => {
    await fixture.db.addFlavor(flavor('small', { platform: 'gitlab' }));
    const response = await call(fixture.app, 'DELETE', '/api/v1/flavors/small');
    expect(response.statusCode).toBe(200);
    expect(response.body).toBe('');
    expect((await call(fixture.app, 'GET', '/api/v1/flavors/small')).statusCode).toBe(404);
  });

  it('answers 200 for a flavor that does not exist, and 400 for `_`', async () => {
    expect((await call(fixture.app, 'DELETE', '/api/v1/flavors/nope')).statusCode).toBe(200);
    expectText(
      await call(fixture.app, 'DELETE', '/api/v1/flavors/_'),
      400,
      'delete all flavors is not supported',
    );
  });

  it('hands the jobs of the deleted flavor to the next best one', async () => {
    await fixture.db.addFlavor(flavor('small', { labels: ['x'], priority: 5 }));
    await fixture.db.addFlavor(flavor('spare', { labels: ['x'] }));
    await fixture.db.addJob(job(['x']));
    await call(fixture.app, 'DELETE', '/api/v1/flavors/small');
    expect(await fixture.db.getPressures('github')).toEqual({ spare: 1 });
  });
});
