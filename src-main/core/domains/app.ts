import type { ApiOf, appMethods } from '../../contract/index.js';
import type { StudioBackendOptions } from '../backend.js';
import { usableProviders } from '../onnx/providers.js';
import type { SettingsStore } from '../settingsStore.js';
import { APP_VERSION } from '../version.js';

/** The app slice of the contract (contract/app.ts). `startIndexId` is read when asked: init sets it. */
export function appDomain(
  opts: StudioBackendOptions,
  settings: SettingsStore,
  startIndexId: () => string | null,
): ApiOf<typeof appMethods> {
  return {
    async appInfo() {
      return { version: APP_VERSION, host: opts.host, providers: await usableProviders(), recent: settings.recent(), startIndexId: startIndexId() };
    },
    async pickPath({ kind, title }) {
      return opts.pickPath ? opts.pickPath(kind, title) : null;
    },
  };
}
