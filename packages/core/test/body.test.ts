import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeWebhookBody, PayloadError } from '../src/index.js';

const payload = { action: 'queued', workflow_job: { id: 1, labels: ['self-hosted', 'gpu+x64 & more'] } };
const json = JSON.stringify(payload);

function expectPayloadError(text: string, contentType: string | undefined, message: string | RegExp) {
  let thrown: unknown;
  try {
    decodeWebhookBody(text, contentType);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(PayloadError);
  if (typeof message === 'string') expect((thrown as PayloadError).message).toBe(message);
  else expect((thrown as PayloadError).message).toMatch(message);
}

describe('decodeWebhookBody', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON;charset=UTF-8',
    'application/vnd.gitlab.webhook+json',
    undefined,
    '',
  ])('parses a JSON body with content type %j', (contentType) => {
    expect(decodeWebhookBody(json, contentType)).toEqual(payload);
  });

  it('ignores a leading byte order mark and surrounding whitespace', () => {
    expect(decodeWebhookBody(`\uFEFF\n ${json}\n`, 'application/json')).toEqual(payload);
  });

  it("decodes GitHub's form-encoded payload field", () => {
    const form = new URLSearchParams({ payload: json }).toString();
    expect(form.startsWith('payload=%7B')).toBe(true);
    expect(decodeWebhookBody(form, 'application/x-www-form-urlencoded')).toEqual(payload);
    expect(decodeWebhookBody(form, 'application/x-www-form-urlencoded; charset=utf-8')).toEqual(payload);
  });

  it('decodes a form payload encoded with %20 and %2B rather than +', () => {
    const form = `payload=${encodeURIComponent(json)}`;
    expect(decodeWebhookBody(form, 'application/x-www-form-urlencoded')).toEqual(payload);
  });

  it('refuses a form body without a payload field', () => {
    expectPayloadError(
      'other=1',
      'application/x-www-form-urlencoded',
      'form-encoded body has no "payload" field',
    );
  });

  it('refuses a form payload that is not JSON', () => {
    expectPayloadError(
      'payload=%7Bnope',
      'application/x-www-form-urlencoded',
      /^form field "payload" is not valid JSON: /,
    );
  });

  it('refuses invalid JSON, quoting the parser', () => {
    expectPayloadError('{"action": queued}', 'application/json', /^body is not valid JSON: .+/);
    expectPayloadError('{"action": "queued"', undefined, /^body is not valid JSON: .+/);
  });

  it('refuses a form-encoded body labelled as JSON', () => {
    expectPayloadError(
      `payload=${encodeURIComponent(json)}`,
      'application/json',
      /^body is not valid JSON: /,
    );
  });

  it.each([
    ['[]', 'an array'],
    [json.replace(/^/, '[').replace(/$/, ']'), 'an array'],
    ['null', 'null'],
    ['42', 'the number 42'],
    ['"text"', 'the string "text"'],
    ['true', 'a boolean'],
  ])('refuses the top-level JSON value %s', (text, got) => {
    expectPayloadError(text, 'application/json', `body must be a JSON object, got ${got}`);
  });

  it('refuses an empty body', () => {
    expectPayloadError('', 'application/json', 'body is empty');
    expectPayloadError('  \n', undefined, 'body is empty');
    expectPayloadError('payload=', 'application/x-www-form-urlencoded', 'form field "payload" is empty');
  });

  it('refuses a content type that is neither JSON nor a form', () => {
    expectPayloadError(
      json,
      'text/plain',
      'unsupported content type "text/plain": expected application/json or application/x-www-form-urlencoded',
    );
  });

  it('throws nothing but PayloadError on arbitrary text and content types', () => {
    const contentTypes = fc.oneof(
      fc.constantFrom(undefined, 'application/json', 'application/x-www-form-urlencoded', 'text/plain'),
      fc.string(),
    );
    const texts = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.string().map((text) => `payload=${text}`),
      fc.jsonValue().map((value) => `payload=${encodeURIComponent(JSON.stringify(value))}`),
    );
    fc.assert(
      fc.property(texts, contentTypes, (text, contentType) => {
        try {
          const value = decodeWebhookBody(text, contentType);
          expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
        } catch (error) {
          if (!(error instanceof PayloadError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
