import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Webhooks } from '@octokit/webhooks';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AppProcess } from '../support/apps.js';
import { gitlabJobHook, useSystem } from '../support/system.js';
import { GITHUB_SECRET, GITLAB_WEBHOOK_TOKEN } from '../support/webhooks.js';

const system = useSystem('e2e_sec_signatures');
let gateway: AppProcess;

beforeAll(async () => {
  gateway = await system.start('gateway');
});

const GITHUB_BODY = JSON.stringify({ action: 'waiting', workflow_job: { id: 1, labels: ['self-hosted'] } });

function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Flips one hex digit, so the signature keeps its length but no longer matches. */
function flipLastDigit(signature: string): string {
  return `${signature.slice(0, -1)}${signature.endsWith('0') ? '1' : '0'}`;
}

async function github(signature: string): Promise<number> {
  const response = await fetch(`${gateway.url}/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'workflow_job',
      'x-hub-signature-256': signature,
    },
    body: GITHUB_BODY,
  });
  return response.status;
}

async function gitlab(token: string): Promise<number> {
  const response = await fetch(`${gateway.url}/webhooks/gitlab`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Job Hook', 'x-gitlab-token': token },
    body: JSON.stringify(gitlabJobHook({ build_status: 'manual' })),
  });
  return response.status;
}

/**
 * The file Node loads for @octokit/webhooks-methods when the gateway's @octokit/webhooks imports
 * it: resolved like Node does (the sibling in the node_modules folder holding @octokit/webhooks),
 * then through the package's `exports` for Node.
 */
function octokitMethodsEntry(): string {
  const fromGateway = createRequire(new URL('../../apps/gateway/package.json', import.meta.url));
  let root = dirname(fromGateway.resolve('@octokit/webhooks'));
  while (
    !existsSync(join(root, 'package.json')) ||
    !readFileSync(join(root, 'package.json'), 'utf8').includes('"name": "@octokit/webhooks"')
  ) {
    root = dirname(root);
  }
  const methodsRoot = join(root, '..', 'webhooks-methods');
  const manifest = JSON.parse(readFileSync(join(methodsRoot, 'package.json'), 'utf8')) as {
    exports: { '.': { node: { import: string } } };
  };
  return join(methodsRoot, manifest.exports['.'].node.import);
}

describe('GitHub signatures', () => {
  const valid = sign(GITHUB_SECRET, GITHUB_BODY);

  it.each([
    ['the right signature', valid, 202],
    ['a wrong signature of the same length', flipLastDigit(valid), 401],
    ['a signature one digit short', valid.slice(0, -1), 401],
    ['a signature one digit long', `${valid}0`, 401],
    ['the signature in upper case', `sha256=${valid.slice(7).toUpperCase()}`, 401],
    ['a signature made with another secret', sign(`${GITHUB_SECRET}x`, GITHUB_BODY), 401],
    ['the right digest under the sha1= prefix', valid.replace('sha256=', 'sha1='), 401],
  ])('%s → %d', async (_what, signature, status) => {
    expect(await github(signature)).toBe(status);
  });

  // DESIGN.md §5 has the gateway verify with @octokit/webhooks; what makes that constant-time is
  // in @octokit/webhooks-methods (node/verify.js): both signatures as Buffers, a length check
  // (the expected length is public: "sha256=" + 64 hex digits), then crypto.timingSafeEqual.
  it('verifies through @octokit/webhooks-methods, which compares with crypto.timingSafeEqual', async () => {
    const methodsEntry = octokitMethodsEntry();
    const source = readFileSync(methodsEntry, 'utf8');
    const verify = source.slice(source.indexOf('async function verify('));
    expect(verify, `verify() in ${dirname(methodsEntry)}`).toMatch(
      /signatureBuffer\.length !== verificationBuffer\.length[\s\S]*timingSafeEqual\(signatureBuffer, verificationBuffer\)/,
    );
    // And the library the gateway uses answers like the running gateway does.
    const verifier = new Webhooks({ secret: GITHUB_SECRET });
    expect(await verifier.verify(GITHUB_BODY, valid)).toBe(true);
    expect(await verifier.verify(GITHUB_BODY, flipLastDigit(valid))).toBe(false);
  });
});

describe('GitLab tokens (the comparison itself is unit-tested in apps/gateway/test/token-match.test.ts)', () => {
  it.each([
    ['the right token', GITLAB_WEBHOOK_TOKEN, 202],
    ['a wrong token of the same length', `${GITLAB_WEBHOOK_TOKEN.slice(0, -1)}X`, 401],
    ['the right token missing its last character', GITLAB_WEBHOOK_TOKEN.slice(0, -1), 401],
    ['the right token with a character more', `${GITLAB_WEBHOOK_TOKEN}x`, 401],
    ['the right token in upper case', GITLAB_WEBHOOK_TOKEN.toUpperCase(), 401],
    ['the right token with spaces around', ` ${GITLAB_WEBHOOK_TOKEN}x `, 401],
  ])('%s → %d', async (_what, token, status) => {
    expect(await gitlab(token)).toBe(status);
  });
});
