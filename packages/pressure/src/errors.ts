/** The planner answered with an error status; `message` is the text the planner sent. */
export class PlannerError extends Error {
  override readonly name: string = 'PlannerError';

  constructor(
    /** HTTP status of the planner's answer. */
    readonly status: number,
    message: string,
    /** `METHOD /path` of the request, for logs. */
    readonly request?: string,
  ) {
    super(message.trim() || `planner answered ${status}`);
  }
}

/** 400: the request was malformed (a bad body, a reserved name, a field already set). */
export class BadRequestError extends PlannerError {
  override readonly name: string = 'BadRequestError';
}

/** 401: the token is not valid here (unknown, deleted, or not the admin token an admin route needs). */
export class UnauthorizedError extends PlannerError {
  override readonly name: string = 'UnauthorizedError';
}

/** 404: no such flavor, job or route. */
export class NotFoundError extends PlannerError {
  override readonly name: string = 'NotFoundError';
}

/** 409: a flavor or token of that name already exists. */
export class ConflictError extends PlannerError {
  override readonly name: string = 'ConflictError';
}

/** The error class for an HTTP status: `instanceof PlannerError` for all of them. */
export function plannerError(status: number, message: string, request?: string): PlannerError {
  switch (status) {
    case 400:
      return new BadRequestError(status, message, request);
    case 401:
      return new UnauthorizedError(status, message, request);
    case 404:
      return new NotFoundError(status, message, request);
    case 409:
      return new ConflictError(status, message, request);
    default:
      return new PlannerError(status, message, request);
  }
}
