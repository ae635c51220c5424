// Light, dark, or following the OS: the user's choice is kept in this browser profile's storage
// (per OS user in Electron, per browser profile on the web host) and applied as data-theme on
// <html>, which theme.css reads; 'system' removes it so the prefers-color-scheme rules apply.

export type ThemeChoice = 'system' | 'light' | 'dark';
export const THEME_KEY = 'feature-studio.theme';

export function readTheme(storage: Pick<Storage, 'getItem'> | null = safeStorage()): ThemeChoice {
  const v = storage?.getItem(THEME_KEY);
  return v === 'light' || v === 'dark' ? v : 'system';
}

export function applyTheme(choice: ThemeChoice, root: HTMLElement | null = typeof document === 'undefined' ? null : document.documentElement): void {
  if (!root) return;
  if (choice === 'system') root.removeAttribute('data-theme');
  else root.setAttribute('data-theme', choice);
}

export function saveTheme(choice: ThemeChoice, storage: Pick<Storage, 'setItem' | 'removeItem'> | null = safeStorage()): void {
  if (!storage) return;
  if (choice === 'system') storage.removeItem(THEME_KEY);
  else storage.setItem(THEME_KEY, choice);
}

function safeStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
