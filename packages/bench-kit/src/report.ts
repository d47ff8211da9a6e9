import { mkdir, writeFile } from 'node:fs/promises';

/** A primitive array of JSON.stringify's indented output: one item per line. */
const PRIMITIVE_ARRAY = /^( *)(.*)\[\n((?: *(?:-?[\d.eE+-]+|"(?:[^"\\]|\\.)*"|true|false|null),?\n)+) *\]/gm;
const LINE_WIDTH = 110;

/**
 * Indented JSON with short arrays of numbers or strings on one line, as the repository's
 * formatter leaves it: a results file written by a run then passes `biome check` unchanged.
 */
export function formatJson(value: unknown): string {
  const text = JSON.stringify(value, null, 2).replace(
    PRIMITIVE_ARRAY,
    (whole, indent: string, head: string, body: string) => {
      const items = body
        .split('\n')
        .filter((item) => item !== '')
        .map((item) => item.trim().replace(/,$/, ''));
      const line = `${indent}${head}[${items.join(', ')}]`;
      // +1 for a comma that may follow.
      return line.length + 1 <= LINE_WIDTH ? line : whole;
    },
  );
  return `${text}\n`;
}

export async function writeJson(url: URL, value: unknown): Promise<void> {
  await mkdir(new URL('.', url), { recursive: true });
  await writeFile(url, formatJson(value));
}

/** `os.loadavg()` as the reports print it: other work on the machine skews every figure. */
export function formatLoad(values: readonly number[]): string {
  return values.map((value) => value.toFixed(2)).join(' ');
}
