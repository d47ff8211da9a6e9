import { Agent, request } from 'node:http';

export interface RawResponse {
  status: number;
  body: string;
}

/**
 * A POST with full control of what goes on the wire: fetch would normalise or refuse some of the
 * headers the fuzzer sends (duplicates, odd content types) and always re-encodes string bodies.
 * Headers are a flat list of name/value pairs, so one name may appear twice.
 */
export function postRaw(
  agent: Agent,
  url: string,
  headers: readonly (readonly [string, string])[],
  body: Buffer,
): Promise<RawResponse> {
  const target = new URL(url);
  // A name given twice becomes an array: Node then writes one header line per value.
  const outgoingHeaders: Record<string, string | string[]> = { 'content-length': String(body.length) };
  for (const [name, value] of headers) {
    const previous = outgoingHeaders[name];
    outgoingHeaders[name] = previous === undefined ? value : [previous, value].flat();
  }
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: outgoingHeaders,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 8 });
}
