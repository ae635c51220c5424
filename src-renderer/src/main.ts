// Composition root: the only place that decides which StudioClient the renderer talks to.
import type { StudioClient } from '@contract';
import { createHttpClient } from './api/httpClient';
import { createStudioApp } from './createStudioApp';

declare global {
  interface Window {
    /** Exposed by the Electron preload (contextBridge); absent in a plain browser. */
    studio?: StudioClient;
  }
}

const client: StudioClient = window.studio ?? createHttpClient();
createStudioApp(client).mount('#app');
