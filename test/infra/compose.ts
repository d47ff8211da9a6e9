/**
 * Compose-file variable interpolation, as the Compose specification defines it: `$$` is a
 * literal `$`; `${VAR}` and `$VAR`; `${VAR:-default}` (unset or empty) and `${VAR-default}`
 * (unset); `${VAR:?message}` and `${VAR?message}` stop with the message.
 */

export class MissingVariableError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

const REFERENCE = /\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

export function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(REFERENCE, (all, braced, operator, argument, bare) => {
    if (all === '$$') return '$';
    const name = (braced ?? bare) as string;
    const current = env[name];
    const unset = current === undefined;
    const empty = unset || current === '';
    switch (operator as string | undefined) {
      case ':-':
        return empty ? (argument as string) : (current as string);
      case '-':
        return unset ? (argument as string) : (current as string);
      case ':?':
        if (empty) throw new MissingVariableError(name, argument as string);
        return current as string;
      case '?':
        if (unset) throw new MissingVariableError(name, argument as string);
        return current as string;
      default:
        return current ?? '';
    }
  });
}

/** Every variable a string refers to, with whether the reference makes it required. */
export function references(value: string): { name: string; required: boolean }[] {
  const found: { name: string; required: boolean }[] = [];
  for (const match of value.matchAll(REFERENCE)) {
    if (match[0] === '$$') continue;
    found.push({ name: (match[1] ?? match[4]) as string, required: (match[2] ?? '').endsWith('?') });
  }
  return found;
}

/** Applies `interpolate` to every string of a parsed YAML document (keys are left alone). */
export function interpolateDeep(value: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((item) => interpolateDeep(item, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateDeep(item, env)]));
  }
  return value;
}

/** Every string anywhere in a parsed document. */
export function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}
