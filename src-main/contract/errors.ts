// The one closed set of error codes, from the core through the hosts to the renderer. A code is
// what a view acts on (a hint, a retry, silence for `superseded`); the message says what happened.

export const ERROR_CODES = [
  // Raised by the core (domain services, indexers, workers).
  /** The arguments break the contract (wrong type, unknown field, value out of range). */
  'bad-request',
  'not-found',
  /** A file or folder the user chose cannot be used (unreadable image, wrong SAE width, ...). */
  'bad-input',
  'schema-too-new',
  'cancelled',
  /** A newer request of the same kind replaced this one before it ran (latest wins). */
  'superseded',
  'internal',
  // Raised by the hosts before a call reaches the core.
  'forbidden',
  'unauthorized',
  'payload-too-large',
  'method-not-allowed',
  // Raised by a client when no usable answer arrives.
  'host-unreachable',
  'bad-reply',
] as const;

export type StudioErrorCode = (typeof ERROR_CODES)[number];

const CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES);

export function isStudioErrorCode(value: unknown): value is StudioErrorCode {
  return typeof value === 'string' && CODE_SET.has(value);
}

/** Errors cross process boundaries as plain objects with a code a UI can act on. */
export interface ApiErrorPayload {
  code: StudioErrorCode;
  message: string;
}

/** An error a user can act on, on either side of a process boundary. `code` is stable. */
export class StudioError extends Error implements ApiErrorPayload {
  constructor(
    readonly code: StudioErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StudioError';
  }
}
