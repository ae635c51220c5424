// From contract/errors.ts itself, not the contract's index: that one loads zod and every method's
// schema, which nothing that only throws needs (`studio --help` reaches this file; bench:cli).
import { StudioError, type ApiErrorPayload } from '../contract/errors.js';

// The core raises the contract's one error type; its codes are the contract's closed set
// (contract/errors.ts), so every host and the renderer see the same ones.
export { StudioError, type StudioErrorCode } from '../contract/errors.js';

export function toErrorPayload(err: unknown): ApiErrorPayload {
  if (err instanceof StudioError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message };
}
