import { API_METHODS, type StudioApi, type StudioBridge, type StudioClient } from '@contract';
import { unwrapReply } from './unwrapReply.js';

/** StudioClient over the Electron preload (`window.studio`), whose methods resolve with envelopes. */
export function createIpcClient(bridge: StudioBridge): StudioClient {
  const api = Object.fromEntries(
    API_METHODS.map((method) => [
      method,
      async (arg?: unknown) => unwrapReply(method, await (bridge[method] as (a?: unknown) => Promise<unknown>)(arg)),
    ]),
  ) as unknown as StudioApi;
  return {
    ...api,
    onEvent: (listener) => bridge.onEvent(listener),
    thumbnailUrl: (indexId, itemId) => bridge.thumbnailUrl(indexId, itemId),
  };
}
