import type { ApiErrorPayload } from '@contract';

/** An error from the core or a host, keeping the code a view can act on (e.g. not-found). */
export class StudioError extends Error implements ApiErrorPayload {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'StudioError';
    this.code = code;
  }
}

/** Any thrown value as {code, message}; Electron's IPC prefixes messages, so strip that noise. */
export function describeError(error: unknown): ApiErrorPayload {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(error);
    return {
      code: typeof e.code === 'string' ? e.code : 'internal',
      message: message.replace(/^Error invoking remote method '[^']*': (Error: )?/, ''),
    };
  }
  return { code: 'internal', message: String(error) };
}
