import { inject, type InjectionKey } from 'vue';
import type { StudioClient } from '@contract';

/** Vue provide/inject key for the API client picked by the composition root. */
export const STUDIO_CLIENT: InjectionKey<StudioClient> = Symbol('StudioClient');

/** The injected client, for components that need it directly (thumbnail URLs, one-off calls). */
export function useStudioClient(): StudioClient {
  const client = inject(STUDIO_CLIENT);
  if (!client) throw new Error('No StudioClient provided: mount the app through createStudioApp().');
  return client;
}
