/**
 * Splits a byte stream into NDJSON lines: a line may arrive across several chunks and a chunk
 * may hold several lines (or end inside a multi-byte character). Blank lines are dropped and
 * a trailing `\r` is removed.
 */
export class NdjsonSplitter {
  private readonly decoder = new TextDecoder();
  private buffer = '';

  /** The complete lines this chunk finishes. */
  push(chunk: Uint8Array | string): string[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    const parts = this.buffer.split('\n');
    this.buffer = parts.pop() ?? '';
    return clean(parts);
  }

  /** At the clean end of the stream: the last line, if it had no newline. */
  end(): string[] {
    const rest = this.buffer + this.decoder.decode();
    this.buffer = '';
    return clean([rest]);
  }
}

function clean(lines: string[]): string[] {
  return lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line)).filter((line) => line.trim());
}
