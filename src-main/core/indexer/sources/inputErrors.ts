import { StudioError } from '../../errors.js';

/** Problems with the user's files are input errors (actionable), not crashes. */
export function toInputError(err: unknown): unknown {
  if (err instanceof StudioError) return err;
  if (err instanceof Error) return new StudioError('bad-input', err.message);
  return err;
}

export function asInputError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw toInputError(err);
  }
}
