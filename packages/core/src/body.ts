import type { z } from 'zod';
import { PayloadError } from './events.js';

const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/** `application/json` and structured-syntax `+json` types (`application/vnd.foo+json`). */
function isJsonMediaType(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType === 'text/json' || mediaType.endsWith('+json');
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  // A leading byte order mark is not JSON but is sometimes sent; it carries no meaning.
  const json = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (json.trim() === '') throw new PayloadError(`${what} is empty`);
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new PayloadError(`${what} is not valid JSON: ${detail}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PayloadError(`${what} must be a JSON object, got ${describeInput(value)}`);
  }
  return value as Record<string, unknown>;
}

/**
 * The JSON object a webhook request body carries.
 *
 * JSON bodies (`application/json` with any parameters, a `+json` type, or no content type at
 * all) are parsed as they are; GitHub's `application/x-www-form-urlencoded` deliveries carry the
 * JSON in the `payload` form field. Throws PayloadError naming what is wrong otherwise: such a
 * body can never be processed.
 */
export function decodeWebhookBody(text: string, contentType: string | undefined): Record<string, unknown> {
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType === '' || isJsonMediaType(mediaType)) return parseJsonObject(text, 'body');
  if (mediaType === FORM_MEDIA_TYPE) {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new PayloadError('form-encoded body has no "payload" field');
    return parseJsonObject(payload, 'form field "payload"');
  }
  throw new PayloadError(
    `unsupported content type ${JSON.stringify(contentType)}: expected application/json or ${FORM_MEDIA_TYPE}`,
  );
}

// Helpers the payload parsers share to word their PayloadError reasons (not part of the package API).

/** @internal A short description of an unexpected JSON value, for error messages. */
export function describeInput(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** @internal "`path` is missing" or "`path` must be `expected`, got …", for zod's `error` option. */
export function fieldError(path: string, expected: string) {
  return (issue: { input?: unknown }): string =>
    issue.input === undefined
      ? `${path} is missing`
      : `${path} must be ${expected}, got ${describeInput(issue.input)}`;
}

/** @internal Every distinct problem zod found, joined: the dead-letter reason. */
export function problemsOf(error: z.ZodError): string {
  return [...new Set(error.issues.map((issue) => issue.message))].join('; ');
}
