import { StudioError, isStudioErrorCode, type ApiErrorPayload } from '@contract';

/** The contract's one error type: an error from the core or a host, keeping the code a view acts on. */
export { StudioError };

/** Any thrown value as {code, message}; Electron's IPC prefixes messages, so strip that noise. */
export function describeError(error: unknown): ApiErrorPayload {
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown };
    const message = typeof e.message === 'string' ? e.message : String(error);
    return {
      code: isStudioErrorCode(e.code) ? e.code : 'internal',
      message: message.replace(/^Error invoking remote method '[^']*': (Error: )?/, ''),
    };
  }
  return { code: 'internal', message: String(error) };
}
