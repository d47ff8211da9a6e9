import { isUtf8 } from 'node:buffer';
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { GITHUB_SECRET, GITLAB_WEBHOOK_TOKEN } from '../support/webhooks.js';
import { JOB_EVENT, type Platform, realPayloads } from './real-payloads.js';

/** The body limit the fuzzed gateway runs with: small, so oversize bodies stay cheap to send. */
export const FUZZ_BODY_LIMIT = 32 * 1024;

const CREDENTIALS = [
  'valid',
  'other-secret',
  'random',
  'wrong-prefix',
  'truncated',
  'missing',
  'empty',
  'duplicated',
] as const;
type Credential = (typeof CREDENTIALS)[number];

/** Content types as sent; `malformed` ones are not valid media types at all. */
const ENCODINGS = {
  json: 'application/json',
  'json-charset': 'application/json; charset=utf-8',
  'vnd-json': 'application/vnd.github+json',
  form: 'application/x-www-form-urlencoded',
  text: 'text/plain',
  octets: 'application/octet-stream',
  none: undefined,
} as const;
const MALFORMED_CONTENT_TYPES = ['@@@', 'application/', '/json', 'application json'] as const;

export interface GatewayCase {
  platform: Platform;
  headers: [string, string][];
  body: Buffer;
  /** Why the case gets the status it does, for the per-class figures. */
  kind: string;
  expected: number;
}

const EVENT_HEADER: Record<Platform, string> = { github: 'x-github-event', gitlab: 'x-gitlab-event' };
const DELIVERY_HEADER: Record<Platform, string> = {
  github: 'x-github-delivery',
  gitlab: 'x-gitlab-event-uuid',
};

function githubSignature(body: Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** JSON text of a real payload with some fields replaced by arbitrary JSON or removed. */
function mutatedPayload(platform: Platform): fc.Arbitrary<string> {
  return fc.constantFrom(...realPayloads(platform)).chain((payload) => {
    const nested = platform === 'github' ? (payload.workflow_job as Record<string, unknown>) : payload;
    const keys = [...Object.keys(payload), ...Object.keys(nested).map((key) => `.${key}`), 'extra'];
    return fc
      .array(
        fc.tuple(fc.constantFrom(...keys), fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined })),
        {
          minLength: 1,
          maxLength: 4,
        },
      )
      .map((changes) => {
        const copy = structuredClone(payload);
        const inner = platform === 'github' ? (copy.workflow_job as Record<string, unknown>) : copy;
        for (const [key, value] of changes) {
          const [target, name] = key.startsWith('.') ? [inner, key.slice(1)] : [copy, key];
          if (value === undefined) delete target[name];
          else target[name] = value;
        }
        return JSON.stringify(copy);
      });
  });
}

/** A body from `empty` to over the limit, mostly derived from real payloads. */
function body(platform: Platform): fc.Arbitrary<{ kind: string; bytes: Buffer }> {
  const real = realPayloads(platform).map((payload) => JSON.stringify(payload));
  const text = (kind: string, arbitrary: fc.Arbitrary<string>) =>
    arbitrary.map((value) => ({ kind, bytes: Buffer.from(value, 'utf8') }));
  const filled = (kind: string, size: fc.Arbitrary<number>) =>
    fc.tuple(fc.constantFrom(...real), size).map(([seed, length]) => ({
      kind,
      bytes: Buffer.alloc(length, seed, 'utf8'),
    }));
  return fc.oneof(
    { weight: 4, arbitrary: text('real', fc.constantFrom(...real)) },
    { weight: 6, arbitrary: text('mutated', mutatedPayload(platform)) },
    {
      weight: 2,
      arbitrary: text(
        'truncated',
        fc.constantFrom(...real).chain((json) => fc.nat(json.length - 1).map((end) => json.slice(0, end))),
      ),
    },
    {
      weight: 2,
      arbitrary: text(
        'form',
        fc.constantFrom(...real).map((json) => `payload=${encodeURIComponent(json)}`),
      ),
    },
    { weight: 2, arbitrary: text('random-text', fc.string({ unit: 'binary', maxLength: 512 })) },
    {
      weight: 2,
      arbitrary: fc
        .uint8Array({ maxLength: 512 })
        .map((bytes) => ({ kind: 'random-bytes', bytes: Buffer.from(bytes) })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...real).map((json) => ({
        kind: 'invalid-utf8',
        bytes: Buffer.concat([Buffer.from(json), Buffer.from([0xc3, 0x28, 0xff])]),
      })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'empty', bytes: Buffer.alloc(0) }) },
    { weight: 1, arbitrary: filled('at-limit', fc.constant(FUZZ_BODY_LIMIT)) },
    {
      weight: 2,
      arbitrary: filled('oversize', fc.integer({ min: FUZZ_BODY_LIMIT + 1, max: FUZZ_BODY_LIMIT + 8192 })),
    },
  );
}

function credentialHeaders(
  platform: Platform,
  credential: Credential,
  bytes: Buffer,
  noise: string,
): [string, string][] {
  if (platform === 'github') {
    const name = 'x-hub-signature-256';
    const valid = githubSignature(bytes, GITHUB_SECRET);
    const values: Record<Credential, string[]> = {
      valid: [valid],
      'other-secret': [githubSignature(bytes, `${GITHUB_SECRET}-old`)],
      random: [`sha256=${createHmac('sha256', noise).digest('hex')}`],
      'wrong-prefix': [valid.replace('sha256=', 'sha1=')],
      truncated: [valid.slice(0, -1 - (noise.length % 32))],
      missing: [],
      empty: [''],
      duplicated: [valid, valid],
    };
    return values[credential].map((value) => [name, value]);
  }
  const name = 'x-gitlab-token';
  const sameLength = `${GITLAB_WEBHOOK_TOKEN.slice(0, -1)}${GITLAB_WEBHOOK_TOKEN.endsWith('x') ? 'y' : 'x'}`;
  const values: Record<Credential, string[]> = {
    valid: [GITLAB_WEBHOOK_TOKEN],
    'other-secret': [sameLength],
    random: [noise === '' ? 'x' : noise],
    'wrong-prefix': [`${GITLAB_WEBHOOK_TOKEN}${noise === '' ? 'x' : noise}`],
    truncated: [GITLAB_WEBHOOK_TOKEN.slice(0, -1 - (noise.length % 8))],
    missing: [],
    empty: [''],
    duplicated: [GITLAB_WEBHOOK_TOKEN, GITLAB_WEBHOOK_TOKEN],
  };
  return values[credential].map((value) => [name, value]);
}

/**
 * The status DESIGN.md §5 gives the request, in the order the gateway can know it: credential
 * headers first (before the body is read), then the content type and size while reading the
 * body, then the signature over the body. Two cases differ from "never a 4xx for a correctly
 * signed event", both documented in docs/security.md: @octokit/webhooks verifies strings, so
 * a body that is not UTF-8 or is empty cannot verify (GitHub never sends either).
 */
function expectedStatus(
  platform: Platform,
  credential: Credential,
  contentType: string | undefined,
  bytes: Buffer,
  event: string | undefined,
): { status: number; kind: string } {
  const credentialAcceptedEarly =
    platform === 'github'
      ? !['missing', 'empty', 'wrong-prefix'].includes(credential)
      : credential === 'valid';
  if (!credentialAcceptedEarly) return { status: 401, kind: `${platform} credential ${credential}` };
  if (contentType !== undefined && (MALFORMED_CONTENT_TYPES as readonly string[]).includes(contentType)) {
    return { status: 415, kind: 'malformed content type' };
  }
  if (bytes.length > FUZZ_BODY_LIMIT) return { status: 413, kind: 'over the body limit' };
  if (platform === 'github') {
    if (credential !== 'valid') return { status: 401, kind: `github signature ${credential}` };
    if (bytes.length === 0) return { status: 401, kind: 'github signed empty body' };
    if (!isUtf8(bytes)) return { status: 401, kind: 'github signed non-UTF-8 body' };
  }
  if (platform === 'github' && event === 'ping') return { status: 200, kind: 'github ping' };
  return { status: 202, kind: `${platform} authenticated` };
}

/** One request at the gateway, any mix of good and bad parts, with the status it must get. */
export function gatewayCase(): fc.Arbitrary<GatewayCase> {
  return fc.constantFrom<Platform>('github', 'gitlab').chain((platform) =>
    fc
      .record({
        // Half the requests carry the right credential, so the body-dependent classes get exercised.
        credential: fc.oneof(
          { weight: 7, arbitrary: fc.constant<Credential>('valid') },
          { weight: 7, arbitrary: fc.constantFrom(...CREDENTIALS.filter((c) => c !== 'valid')) },
        ),
        contentType: fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(...Object.values(ENCODINGS)) },
          { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_CONTENT_TYPES) },
        ),
        gzipClaim: fc.boolean(),
        event: fc.oneof(
          { weight: 6, arbitrary: fc.constant(JOB_EVENT[platform]) },
          { weight: 1, arbitrary: fc.constant('ping') },
          { weight: 1, arbitrary: fc.string({ maxLength: 20 }).filter((s) => /^[\x21-\x7e]*$/.test(s)) },
          { weight: 1, arbitrary: fc.constant(undefined) },
        ),
        duplicateEvent: fc.boolean(),
        delivery: fc.option(fc.uuid(), { nil: undefined }),
        body: body(platform),
        noise: fc.string({ unit: fc.constantFrom(...'abcdef0123456789'), maxLength: 40 }),
      })
      .map((c) => {
        const headers: [string, string][] = [];
        if (c.contentType !== undefined) headers.push(['content-type', c.contentType]);
        if (c.gzipClaim) headers.push(['content-encoding', 'gzip']);
        headers.push(...credentialHeaders(platform, c.credential, c.body.bytes, c.noise));
        // A repeated header reaches the app as "a, a": not the job event any more.
        const eventSent =
          c.event === undefined ? undefined : c.duplicateEvent ? `${c.event}, ${c.event}` : c.event;
        if (c.event !== undefined) {
          headers.push([EVENT_HEADER[platform], c.event]);
          if (c.duplicateEvent) headers.push([EVENT_HEADER[platform], c.event]);
        }
        if (c.delivery !== undefined) headers.push([DELIVERY_HEADER[platform], c.delivery]);
        const expected = expectedStatus(platform, c.credential, c.contentType, c.body.bytes, eventSent);
        return {
          platform,
          headers,
          body: c.body.bytes,
          kind: expected.kind,
          expected: expected.status,
          // A counterexample prints its shape, not kilobytes of body.
          [fc.toStringMethod]: () =>
            `${platform} ${JSON.stringify(headers)} body ${c.body.kind} ${c.body.bytes.length} B: ${JSON.stringify(c.body.bytes.subarray(0, 80).toString('latin1'))}`,
        };
      }),
  );
}
