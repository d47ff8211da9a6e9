import { describe, expect, it } from 'vitest';
import { safeJson, shown } from '../src/commands/terminal.js';

const ESC = '\u001b';
// Raw control, format and separator characters: none may reach the terminal.
// biome-ignore lint/suspicious/noControlCharactersInRegex: this is what is looked for
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/u;

describe('shown', () => {
  it('writes each unsafe character as \\uXXXX and a backslash as \\\\', () => {
    expect(shown(`${ESC}[31mred\r\n\t\u202e\u2028\\`)).toBe(
      '\\u001b[31mred\\u000d\\u000a\\u0009\\u202e\\u2028\\\\',
    );
    expect(shown('large\ud800')).toBe('large\\ud800');
  });

  it('leaves printable text of any script alone', () => {
    expect(shown('gpu-a100 ラベル é 😀')).toBe('gpu-a100 ラベル é 😀');
  });
});

describe('safeJson', () => {
  it('is the same JSON value, with nothing unsafe raw', () => {
    const value = { name: `${ESC}[2J\u009b\u202e\u007f`, labels: ['ok', 'a\u2029b'], lone: '\udc00' };
    const text = safeJson(value);
    expect(RAW.test(text)).toBe(false);
    expect(JSON.parse(text)).toEqual(value);
    expect(safeJson({ a: 1 }, 0)).toBe('{"a":1}');
  });
});
