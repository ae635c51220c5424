import { z } from 'zod';

// Argument pieces several domains share. Every object schema is strict: a field the contract
// does not know is refused (bad-request naming it), never silently dropped.

/** An id the host handed out for an open index. */
export const indexId = z.string().min(1, 'Give the index id.');

/** A feature number of an SAE (its position in the dictionary). */
export const featureNumber = z.number().int().nonnegative();

/** Text that must hold something once trimmed; `what` says what to give. */
export function nonEmpty(what: string) {
  return z.string().trim().min(1, what);
}

/** An optional positive page size or count. */
export const optionalLimit = z.number().int().positive().optional();
