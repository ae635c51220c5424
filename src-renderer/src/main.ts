// Composition root: the only place that decides which StudioClient the renderer talks to.
import type { StudioBridge, StudioClient } from '@contract';
import { createHttpClient, removeTokenFromAddress } from './api/httpClient';
import { createIpcClient } from './api/ipcClient';
import { createStudioApp } from './createStudioApp';

declare global {
  interface Window {
    /** Exposed by the Electron preload (contextBridge); absent in a plain browser. */
    studio?: StudioBridge;
  }
}

// In a browser the address came with the web host's access token; the cookie it set replaces it.
if (!window.studio) removeTokenFromAddress(window);
const client: StudioClient = window.studio ? createIpcClient(window.studio) : createHttpClient();
createStudioApp(client).mount('#app');
