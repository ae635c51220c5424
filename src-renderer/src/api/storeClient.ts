import { getActivePinia, type Pinia } from 'pinia';
import type { StudioClient } from '@contract';

// Stores get the client through the Pinia instance they belong to, not through window.* or a
// module-level singleton: the app and each unit test bind their own client to their own Pinia.
const clients = new WeakMap<Pinia, StudioClient>();

export function bindStoreClient(pinia: Pinia, client: StudioClient): void {
  clients.set(pinia, client);
}

/** Call inside a store's setup function (the store's Pinia is active there). */
export function useStoreClient(): StudioClient {
  const pinia = getActivePinia();
  const client = pinia && clients.get(pinia);
  if (!client) throw new Error('No StudioClient bound to this Pinia: call bindStoreClient(pinia, client) first.');
  return client;
}
