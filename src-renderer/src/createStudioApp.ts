import { createApp, type App } from 'vue';
import { createPinia } from 'pinia';
import type { RouterHistory } from 'vue-router';
import type { StudioClient } from '@contract';
import AppShell from './AppShell.vue';
import { createStudioRouter } from './router';
import { STUDIO_CLIENT } from './api/studioClientKey';
import { bindStoreClient } from './api/storeClient';
import './styles/theme.css';
import './styles/chips.css';

/**
 * Builds the renderer around an injected client (preload bridge, HTTP client, or a fake in the
 * harness). Nothing below this point reads window.* to find the API.
 */
export function createStudioApp(client: StudioClient, history?: RouterHistory): App {
  const app = createApp(AppShell);
  const pinia = createPinia();
  bindStoreClient(pinia, client);
  app.use(pinia);
  app.use(createStudioRouter(history));
  app.provide(STUDIO_CLIENT, client);
  return app;
}
