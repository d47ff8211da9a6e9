import type { FastifyReply } from 'fastify';

/**
 * An error answer as the original planner (Go's `http.Error`) wrote it: the message and a
 * newline as plain text. Clients of the v1 API match on these texts.
 */
export function sendText(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/plain; charset=utf-8')
    .header('x-content-type-options', 'nosniff')
    .send(`${message}\n`);
}

/** Thrown by request parsing and route code; the error handler answers with `sendText`. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request body that cannot be used: answered 400 `invalid payload: <why>`, as the original did. */
export class PayloadError extends HttpError {
  constructor(problem: string) {
    super(400, `invalid payload: ${problem}`);
  }
}

export const FLAVOR_NOT_FOUND = 'flavor not found';
export const JOB_NOT_FOUND = 'job not found';
