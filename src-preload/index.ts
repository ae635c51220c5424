import { contextBridge, ipcRenderer } from 'electron';
import type { StudioBridge } from '../src-main/contract/index.js';
import { createBridge } from './bridge.js';

// Sandboxed preload: exposes the typed studio API as `window.studio` and nothing else.
// ipcRenderer stays here; the renderer only gets closures over fixed `studio:*` channels.

const bridge = createBridge(
  (channel, arg) => ipcRenderer.invoke(channel, arg),
  (channel, listener) => ipcRenderer.on(channel, listener),
  (channel, listener) => ipcRenderer.removeListener(channel, listener),
) satisfies StudioBridge;

contextBridge.exposeInMainWorld('studio', bridge);
