import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import type { ApiErrorPayload, AppInfo } from '@contract';
import { useStoreClient } from '../api/storeClient';
import { describeError } from '../api/studioError';
import { applyTheme, readTheme, saveTheme, type ThemeChoice } from '../lib/theme';

/** What the host says about itself: version, providers, recent indexes, the index to start with. */
export const useAppStore = defineStore('app', () => {
  const client = useStoreClient();
  const info = shallowRef<AppInfo | null>(null);
  const error = ref<ApiErrorPayload | null>(null);
  let pending: Promise<AppInfo | null> | null = null;
  /** Light, dark or the OS's choice; remembered in this profile and applied at once. */
  const theme = ref<ThemeChoice>(readTheme());
  applyTheme(theme.value);

  function setTheme(choice: ThemeChoice): void {
    theme.value = choice;
    saveTheme(choice);
    applyTheme(choice);
  }

  /** Loads once; later calls share the first answer (use reload() after opening an index). */
  function load(): Promise<AppInfo | null> {
    pending ??= reload();
    return pending;
  }

  async function reload(): Promise<AppInfo | null> {
    try {
      info.value = await client.appInfo();
      error.value = null;
    } catch (e) {
      error.value = describeError(e);
    }
    return info.value;
  }

  return { info, error, load, reload, theme, setTheme };
});
