import {
  API_METHODS,
  IPC_EVENT_CHANNEL,
  IPC_PREFIX,
  THUMB_SCHEME,
  type ApiArgs,
  type ApiErrorPayload,
  type ApiMethod,
  type ApiResult,
  type StudioClient,
  type StudioEvent,
} from '../src-main/contract/index.js';

// The object the preload hands to the renderer as `window.studio`. Built from the contract's
// method list so it can never drift from the API, and from three injected functions so it can be
// tested without Electron. Only these functions cross the bridge: never ipcRenderer itself.

/** Generated methods: the optional argument makes no-argument methods fit the contract too. */
type GeneratedApi = { [M in ApiMethod]: (arg?: ApiArgs<M>) => Promise<ApiResult<M>> };

type Envelope = { ok: true; result: unknown } | { ok: false; error: ApiErrorPayload };

export type InvokeFn = (channel: string, arg: unknown) => Promise<unknown>;
/** Electron's listener shape: (event, payload). The event object never reaches the renderer. */
export type IpcListener = (event: unknown, payload: unknown) => void;
export type OnFn = (channel: string, listener: IpcListener) => void;
export type OffFn = (channel: string, listener: IpcListener) => void;

/** Error thrown by bridge calls. Over contextBridge only `message` is guaranteed to survive. */
export class StudioCallError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StudioCallError';
  }
}

function unwrap(channel: string, envelope: unknown): unknown {
  if (typeof envelope === 'object' && envelope !== null && 'ok' in envelope) {
    const typed = envelope as Envelope;
    if (typed.ok) return typed.result;
    throw new StudioCallError(typed.error.code, typed.error.message);
  }
  throw new StudioCallError('internal', `Malformed reply on ${channel}.`);
}

export function createBridge(invoke: InvokeFn, on: OnFn, off: OffFn): StudioClient {
  const api = Object.fromEntries(
    API_METHODS.map((method) => {
      const channel = `${IPC_PREFIX}${method}`;
      // Exactly one argument is forwarded, whatever the caller passes.
      const call = async (arg?: unknown) => unwrap(channel, await invoke(channel, arg ?? null));
      return [method, call];
    }),
  ) as GeneratedApi;

  // `satisfies` checks the composed object against the contract the renderer is written to.
  return {
    ...api,
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
  } satisfies StudioClient;
}
