import {
  API_METHODS,
  IPC_EVENT_CHANNEL,
  IPC_PREFIX,
  THUMB_SCHEME,
  type ApiEnvelope,
  type StudioBridge,
  type StudioEvent,
} from '../src-main/contract/index.js';

// The object the preload hands to the renderer as `window.studio`. Built from the contract's
// method list so it can never drift from the API, and from three injected functions so it can be
// tested without Electron. Only these functions cross the bridge: never ipcRenderer itself.
//
// Methods resolve with the main process's envelope instead of throwing: contextBridge rebuilds a
// thrown error from its message alone, which dropped every error code (the renderer then called
// each failure a bug). The renderer unwraps the envelopes (src-renderer/src/api/ipcClient.ts).

export type InvokeFn = (channel: string, arg: unknown) => Promise<unknown>;
/** Electron's listener shape: (event, payload). The event object never reaches the renderer. */
export type IpcListener = (event: unknown, payload: unknown) => void;
export type OnFn = (channel: string, listener: IpcListener) => void;
export type OffFn = (channel: string, listener: IpcListener) => void;

function isEnvelope(reply: unknown): reply is ApiEnvelope {
  if (typeof reply !== 'object' || reply === null || !('ok' in reply)) return false;
  const typed = reply as { ok: unknown; error?: { code?: unknown; message?: unknown } };
  if (typed.ok === true) return 'result' in reply;
  return typed.ok === false && typeof typed.error?.code === 'string' && typeof typed.error.message === 'string';
}

async function envelopeOf(channel: string, pending: Promise<unknown>): Promise<ApiEnvelope> {
  try {
    const reply = await pending;
    if (isEnvelope(reply)) return reply;
    return { ok: false, error: { code: 'internal', message: `Malformed reply on ${channel}.` } };
  } catch (err) {
    // The IPC itself failed (no handler, main process gone): still an envelope, never a throw.
    return { ok: false, error: { code: 'internal', message: err instanceof Error ? err.message : String(err) } };
  }
}

export function createBridge(invoke: InvokeFn, on: OnFn, off: OffFn): StudioBridge {
  const api = Object.fromEntries(
    API_METHODS.map((method) => {
      const channel = `${IPC_PREFIX}${method}`;
      // Exactly one argument is forwarded, whatever the caller passes.
      return [method, (arg?: unknown) => envelopeOf(channel, invoke(channel, arg ?? null))];
    }),
  );

  // `satisfies` checks the composed object against the contract the renderer is written to.
  return {
    ...(api as Omit<StudioBridge, 'onEvent' | 'thumbnailUrl'>),
    onEvent(listener: (event: StudioEvent) => void): () => void {
      const wrapped: IpcListener = (_event, payload) => listener(payload as StudioEvent);
      on(IPC_EVENT_CHANNEL, wrapped);
      return () => off(IPC_EVENT_CHANNEL, wrapped);
    },
    thumbnailUrl(indexId: string, itemId: number): string {
      // The index id is the URL's host: ids are lower-case [a-z0-9-] (standard schemes
      // lower-case hosts), so it needs no escaping.
      return `${THUMB_SCHEME}://${indexId}/${itemId}.webp`;
    },
  } satisfies StudioBridge;
}
