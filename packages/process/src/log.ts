/**
 * What the helpers here write to. A pino logger (an app's Fastify `app.log`) is one; so is a
 * CLI's writer of one plain line per message, which is why every message reads on its own and
 * `details` only adds fields for machines.
 */
export interface Log {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** `scheme://user:password@` in any text, e.g. an error message that quotes a connection string. */
const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:)[^@\s/]+@/gi;

/** The text with every URL's password replaced by `***`. */
export function redactUrls(text: string): string {
  return text.replace(URL_PASSWORD, '$1***@');
}

/** A URL as it may be logged: its password replaced by `***` (a URL that does not parse as it was). */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return redactUrls(url);
  }
}

/**
 * An error as one line that says what went wrong, without passwords of URLs it quotes. Node's
 * `fetch failed` and an AggregateError of refused addresses say nothing themselves: their cause
 * or first error does.
 */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return redactUrls(String(error));
  let text = error.message;
  if (text === '' && error instanceof AggregateError && error.errors[0] instanceof Error) {
    text = error.errors[0].message;
  }
  if (text === '') text = (error as NodeJS.ErrnoException).code ?? error.name;
  const cause = error.cause;
  if (cause instanceof Error && cause.message !== '' && !text.includes(cause.message)) {
    text = `${text} (${cause.message})`;
  }
  return redactUrls(text);
}

/**
 * A Log for a person at a terminal: each message is one line, `prefix: message`, information on
 * stdout and problems on stderr; the details are for machines and left out.
 */
export function lineLog(prefix: string): Log {
  const line = (stream: NodeJS.WriteStream) => (_details: object, message: string) => {
    stream.write(`${prefix}: ${message}\n`);
  };
  return { info: line(process.stdout), warn: line(process.stderr), error: line(process.stderr) };
}
