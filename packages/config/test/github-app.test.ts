import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';
import { problemsOf } from './problems.js';

const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();
const dir = mkdtempSync(join(tmpdir(), 'rp-config-app-'));
const keyFile = join(dir, 'app.pem');
writeFileSync(keyFile, pem);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('GitHub App hook configuration', () => {
  it('reads the app hook with the key inline, as one line with \\n escapes, or from a file', () => {
    const inline = loadConfig({
      GITHUB_HOOKS: 'app,org:octo-org:8',
      GITHUB_APP_ID: '123',
      GITHUB_APP_PRIVATE_KEY: pem,
    });
    expect(inline.githubHooks).toEqual([{ kind: 'app' }, { kind: 'org', org: 'octo-org', hookId: 8 }]);
    expect(inline.githubApp).toEqual({ appId: 123, privateKey: pem });
    const oneLine = loadConfig({
      GITHUB_HOOKS: 'app',
      GITHUB_APP_ID: '123',
      GITHUB_APP_PRIVATE_KEY: pem.trimEnd().replace(/\n/g, '\\n'),
    });
    expect(oneLine.githubApp?.privateKey).toBe(pem.trimEnd());
    const fromFile = loadConfig({
      GITHUB_HOOKS: 'app',
      GITHUB_APP_ID: '123',
      GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
    });
    expect(fromFile.githubApp).toEqual({ appId: 123, privateKey: pem });
    expect(loadConfig({}).githubApp).toBeUndefined();
  });

  it('names what is missing or wrong, never printing the key', () => {
    expect(problemsOf({ GITHUB_HOOKS: 'app' })).toContain(
      'GITHUB_HOOKS: "app" needs GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_FILE)',
    );
    expect(problemsOf({ GITHUB_HOOKS: 'app:1' })).toContain(
      'must be repo:OWNER/REPO:HOOK_ID, org:ORG:HOOK_ID or app',
    );
    expect(problemsOf({ GITHUB_APP_ID: '123' })).toContain(
      'GITHUB_APP_PRIVATE_KEY: must be set with GITHUB_APP_ID',
    );
    expect(problemsOf({ GITHUB_APP_PRIVATE_KEY: pem })).toContain(
      'GITHUB_APP_ID: must be set with the App private key',
    );
    expect(problemsOf({ GITHUB_APP_ID: 'my-app', GITHUB_APP_PRIVATE_KEY: pem })).toContain(
      'GITHUB_APP_ID: must be a number',
    );
    const both = problemsOf({
      GITHUB_APP_ID: '1',
      GITHUB_APP_PRIVATE_KEY: pem,
      GITHUB_APP_PRIVATE_KEY_FILE: keyFile,
    });
    expect(both).toContain('set only one of GITHUB_APP_PRIVATE_KEY and GITHUB_APP_PRIVATE_KEY_FILE');
    const garbage = problemsOf({ GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY: 'not-a-key-s3cr3t' });
    expect(garbage).toContain('GITHUB_APP_PRIVATE_KEY: must be a PEM private key');
    expect(garbage).not.toContain('s3cr3t');
    const missing = problemsOf({ GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY_FILE: join(dir, 'nope.pem') });
    expect(missing).toContain(`GITHUB_APP_PRIVATE_KEY_FILE: cannot read ${join(dir, 'nope.pem')}: ENOENT`);
    writeFileSync(join(dir, 'public.pem'), 'hello s3cr3t');
    const notPem = problemsOf({ GITHUB_APP_ID: '1', GITHUB_APP_PRIVATE_KEY_FILE: join(dir, 'public.pem') });
    expect(notPem).toContain('must hold a PEM private key');
    expect(notPem).not.toContain('s3cr3t');
  });
});
