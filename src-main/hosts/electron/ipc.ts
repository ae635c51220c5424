import { API_METHODS, IPC_PREFIX, type StudioApi } from '../../contract/index.js';
import { callApi, type ApiEnvelope } from '../dispatch.js';

// ipcMain registration generated from the contract (one `studio:<method>` handler per API
// method, nothing else). Takes an IpcMainLike instead of Electron's ipcMain so it is tested
// under plain Node, as Bruno does.

/** The part of Electron's IpcMainInvokeEvent we look at. */
export interface IpcInvokeEventLike {
  senderFrame?: { url: string } | null;
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcInvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export type TrustedSenderCheck = (event: IpcInvokeEventLike) => boolean;

const UNTRUSTED: ApiEnvelope = {
  ok: false,
  error: { code: 'forbidden', message: 'Refused: the call did not come from the Feature Studio window.' },
};

/** Registers one handler per API method; returns a function that removes them again. */
export function registerIpc(ipcMain: IpcMainLike, api: StudioApi, isTrustedSender: TrustedSenderCheck): () => void {
  const channels = API_METHODS.map((method) => {
    const channel = `${IPC_PREFIX}${method}`;
    ipcMain.handle(channel, async (event, arg) => {
      // Checked on every call: a frame can navigate (or be an iframe) after the window was made.
      if (!isTrustedSender(event)) return UNTRUSTED;
      return callApi(api, method, arg);
    });
    return channel;
  });
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}
