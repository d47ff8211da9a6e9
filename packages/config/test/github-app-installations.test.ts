import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/index.js';
import { problemsOf } from './problems.js';

const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs1', format: 'pem' })
  .toString();
const app = { GITHUB_APP_ID: '123', GITHUB_APP_PRIVATE_KEY: pem };

describe('GITHUB_APP_INSTALLATION_IDS', () => {
  it('is unset by default: every owner’s installation is looked up', () => {
    expect(loadConfig(app).githubAppInstallationIds).toBeUndefined();
    expect(loadConfig({ ...app, GITHUB_APP_INSTALLATION_IDS: '' }).githubAppInstallationIds).toBeUndefined();
  });

  it('reads OWNER:ID pairs, owners lowercased as GitHub matches logins', () => {
    const config = loadConfig({ ...app, GITHUB_APP_INSTALLATION_IDS: 'Acme-Org:4242, octo_user:77' });
    expect(config.githubAppInstallationIds).toEqual(
      new Map([
        ['acme-org', 4242],
        ['octo_user', 77],
      ]),
    );
  });

  it('names the bad entry, a repeated owner, and a pin without an App', () => {
    for (const bad of ['acme', 'acme:', 'acme:x1', 'acme:0', 'acme:1:2', 'ac me:1', ':5']) {
      expect(problemsOf({ ...app, GITHUB_APP_INSTALLATION_IDS: bad })).toContain(
        `GITHUB_APP_INSTALLATION_IDS: ${JSON.stringify(bad)} must be OWNER:INSTALLATION_ID`,
      );
    }
    expect(problemsOf({ ...app, GITHUB_APP_INSTALLATION_IDS: 'acme:1,ACME:2' })).toContain(
      'GITHUB_APP_INSTALLATION_IDS: ACME is listed twice',
    );
    expect(problemsOf({ GITHUB_APP_INSTALLATION_IDS: 'acme:1' })).toContain(
      'GITHUB_APP_INSTALLATION_IDS: needs GITHUB_APP_ID and the App private key',
    );
  });
});
