// Where small per-user display preferences live: this browser profile's localStorage (per OS user
// in Electron, per browser profile on the web host). Stores read it through this helper so unit
// tests can swap in a memory map, and so a profile that refuses storage (privacy modes throw on
// access) degrades to "not remembered" instead of breaking the view.

export type SettingsStorage = Pick<Storage, 'getItem' | 'setItem'>;

let injected: SettingsStorage | null | undefined;

/** Replaces the storage (tests); `undefined` goes back to localStorage. */
export function setSettingsStorage(storage: SettingsStorage | null | undefined): void {
  injected = storage;
}

export function settingsStorage(): SettingsStorage | null {
  if (injected !== undefined) return injected;
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** A storage kept in memory (tests, and a stand-in where none is available). */
export function memorySettingsStorage(): SettingsStorage & { readonly entries: Map<string, string> } {
  const entries = new Map<string, string>();
  return {
    entries,
    getItem: (k: string) => entries.get(k) ?? null,
    setItem: (k: string, v: string) => void entries.set(k, String(v)),
  };
}
