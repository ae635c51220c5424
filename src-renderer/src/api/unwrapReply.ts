import type { ApiMethod } from '@contract';
import { StudioError } from './studioError';

// One way to turn a host's reply into a result or a StudioError, for both hosts: the web host's
// JSON body and the Electron preload's envelope. A view then acts on the same codes either way.

export function unwrapReply(method: ApiMethod, reply: unknown): unknown {
  if (typeof reply === 'object' && reply !== null && 'ok' in reply) {
    const typed = reply as { ok: boolean; result?: unknown; error?: { code?: unknown; message?: unknown } };
    if (typed.ok === true) return typed.result;
    const code = typeof typed.error?.code === 'string' ? typed.error.code : 'internal';
    const message = typeof typed.error?.message === 'string' ? typed.error.message : `${method} failed`;
    throw new StudioError(code, message);
  }
  throw new StudioError('bad-reply', `The host answered ${method} with something that is not a reply.`);
}
