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

/**
 * How a result crosses a JSON transport (the web host) when JSON cannot carry it as it is, e.g.
 * typed arrays. IPC's structured clone carries results unchanged and never uses this. Declared
 * as methods so that a table of specific results still fits MethodTable.
 */
export interface ResultWire<R> {
  /** What the JSON transport sends in place of the result. */
  toJson(result: R): unknown;
  /** The result back from what toJson made; throws an Error saying what does not fit. */
  fromJson(json: unknown): R;
}

export interface MethodSpec<A extends z.ZodType | null = z.ZodType | null, R = unknown> {
  /** One strict object schema, or null for a method without an argument. */
  args: A;
  result: Returns<R>;
  /**
   * Codes the method raises itself. Any call can also fail with the transport's codes
   * (bad-request for arguments the schema refuses, internal, forbidden, ...).
   */
  errors: readonly StudioErrorCode[];
  /** Present when the result needs an encoding on JSON transports (see ResultWire). */
  wire?: ResultWire<R>;
}

export type MethodTable = Record<string, MethodSpec>;
