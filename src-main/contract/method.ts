import type { z } from 'zod';
import type { StudioErrorCode } from './errors.js';

// The shape of one contract method: what it takes (a schema checked at dispatch), what it
// resolves with (a type only), and which error codes it raises itself. Every domain file is a
// table of these; StudioApi and the method list are derived from the tables (contract/index.ts).

/** Carries a method's result type; holds nothing at run time. */
export interface Returns<T> {
  readonly __result: T;
}

export function returns<T>(): Returns<T> {
  return PHANTOM as Returns<T>;
}
const PHANTOM = Object.freeze({});

export interface MethodSpec<A extends z.ZodType | null = z.ZodType | null, R = unknown> {
  /** One strict object schema, or null for a method without an argument. */
  args: A;
  result: Returns<R>;
  /**
   * Codes the method raises itself. Any call can also fail with the transport's codes
   * (bad-request for arguments the schema refuses, internal, forbidden, ...).
   */
  errors: readonly StudioErrorCode[];
}

export type MethodTable = Record<string, MethodSpec>;
