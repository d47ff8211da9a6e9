/** The row asked for does not exist. */
export class NotExistError extends Error {
  override readonly name = 'NotExistError';
  constructor() {
    super('does not exist');
  }
}

/** A row with the same identity already exists. */
export class ExistError extends Error {
  override readonly name = 'ExistError';
  constructor() {
    super('already exists');
  }
}
