import { isStudioErrorCode, type ApiMethod } from '@contract';
import { StudioError } from './studioError.js';

// One way to turn a host's reply into a result or a StudioError, for both hosts: the web host's
// JSON body and the Electron preload's envelope. A view then acts on the same codes either way.

export function unwrapReply(method: ApiMethod, reply: unknown): unknown {
  if (typeof reply === 'object' && reply !== null && 'ok' in reply) {
    const typed = reply as { ok: boolean; result?: unknown; error?: { code?: unknown; message?: unknown } };
    if (typed.ok === true) return typed.result;
    const message = typeof typed.error?.message === 'string' ? typed.error.message : `${method} failed`;
    const code = typed.error?.code;
    if (isStudioErrorCode(code)) throw new StudioError(code, message);
    // A code outside the contract's closed set: most likely a host of another version.
    throw new StudioError('bad-reply', `${message} (the host answered ${method} with the unknown error code ${JSON.stringify(code)})`);
  }
  throw new StudioError('bad-reply', `The host answered ${method} with something that is not a reply.`);
}
