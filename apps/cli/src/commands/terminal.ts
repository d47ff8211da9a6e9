/*
 * What the CLI prints of names, labels, ids and payloads never acts on the terminal: a flavor
 * or token name is chosen by whoever created it (a general API token may create flavors), and
 * job payloads come from repositories. The characters are those @runner-planner/core refuses
 * in new names and labels (its text.ts), defined here again so that printing loads nothing.
 */

/** Control (C0, DEL, C1), format (bidi overrides, zero-width), lone surrogates, line/paragraph separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;
/** Those `JSON.stringify` writes raw (it escapes C0 and lone surrogates itself; a raw C0 is layout). */
const RAW_IN_JSON = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

const unicodeEscape = (char: string) => `\\u${(char.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;

/** `text` for a human: unsafe characters as `\uXXXX`, a backslash as `\\`. */
export function shown(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(UNSAFE, unicodeEscape);
}

/** `JSON.stringify(value, null, 2)` with every unsafe character escaped: the same JSON value. */
export function safeJson(value: unknown, space = 2): string {
  return JSON.stringify(value, null, space).replace(RAW_IN_JSON, unicodeEscape);
}

/** Prints JSON as `printJson` does, escaped. */
export function printSafeJson(value: unknown): void {
  process.stdout.write(`${safeJson(value)}\n`);
}
