import type { ApiErrorPayload } from '../contract/index.js';

/** An error a user can act on. `code` is stable (hosts map it to HTTP status, UI to hints). */
export class StudioError extends Error {
  constructor(
    readonly code: StudioErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StudioError';
  }
}

export type StudioErrorCode =
  | 'bad-request'
  | 'not-found'
  | 'bad-input'
  | 'schema-too-new'
  | 'cancelled'
  /** A newer request of the same kind replaced this one before it ran (latest wins). */
  | 'superseded'
  | 'internal';

export function toErrorPayload(err: unknown): ApiErrorPayload {
  if (err instanceof StudioError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message };
}
