// Composition root: the only place that decides which StudioClient the renderer talks to.
import type { StudioBridge, StudioClient } from '@contract';
import { createHttpClient } from './api/httpClient';
import { createIpcClient } from './api/ipcClient';
import { createStudioApp } from './createStudioApp';

declare global {
  interface Window {
    /** Exposed by the Electron preload (contextBridge); absent in a plain browser. */
    studio?: StudioBridge;
  }
}

const client: StudioClient = window.studio ? createIpcClient(window.studio) : createHttpClient();
createStudioApp(client).mount('#app');
