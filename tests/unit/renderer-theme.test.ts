import { describe, expect, it } from 'vitest';
import { THEME_KEY, applyTheme, readTheme, saveTheme } from '../../src-renderer/src/lib/theme';

// The theme is light, dark or the OS's, remembered per user (item 11).

function memoryStorage() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v), removeItem: (k: string) => void m.delete(k), m };
}

function fakeRoot() {
  const attrs = new Map<string, string>();
  return { setAttribute: (k: string, v: string) => void attrs.set(k, v), removeAttribute: (k: string) => void attrs.delete(k), attrs } as unknown as HTMLElement & { attrs: Map<string, string> };
}

describe('theme choice', () => {
  it('remembers light or dark, and system clears the choice', () => {
    const s = memoryStorage();
    expect(readTheme(s)).toBe('system');
    saveTheme('dark', s);
    expect(readTheme(s)).toBe('dark');
    expect(s.m.get(THEME_KEY)).toBe('dark');
    saveTheme('system', s);
    expect(readTheme(s)).toBe('system');
    s.setItem(THEME_KEY, 'purple');
    expect(readTheme(s)).toBe('system');
  });

  it('sets data-theme on the root for light/dark and removes it for system', () => {
    const root = fakeRoot();
    applyTheme('light', root);
    expect(root.attrs.get('data-theme')).toBe('light');
    applyTheme('system', root);
    expect(root.attrs.has('data-theme')).toBe(false);
  });
});
