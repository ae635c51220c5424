import type { MenuItemConstructorOptions } from 'electron';
import { describe, expect, it } from 'vitest';
import { appMenuTemplate, DEVTOOLS_ENV, devToolsAllowed, type MenuActions } from '../../src-main/hosts/electron/menuTemplate.js';

// The application menu as data, under plain Node: no Electron binary, no mocked electron module
// (menuTemplate.ts imports only electron's types).

const calls: string[] = [];
const actions: MenuActions = {
  openIndex: () => calls.push('openIndex'),
  newIndex: () => calls.push('newIndex'),
  about: () => calls.push('about'),
  showSettingsFolder: () => calls.push('showSettingsFolder'),
};

/** Every role and label in the menu, depth first. */
function entries(items: MenuItemConstructorOptions[]): string[] {
  return items.flatMap((item) => [
    ...(item.role ? [`role:${item.role}`] : []),
    ...(item.label ? [`label:${item.label}`] : []),
    ...(Array.isArray(item.submenu) ? entries(item.submenu) : []),
  ]);
}

describe('DevTools in the menu', () => {
  it('an installed app has none', () => {
    for (const platform of ['linux', 'darwin', 'win32'] as const) {
      const menu = entries(appMenuTemplate(actions, { platform, devTools: false }));
      expect(menu.filter((e) => /devtools/i.test(e)), platform).toEqual([]);
      // The rest of the View menu is still there.
      expect(menu).toContain('role:reload');
      expect(menu).toContain('role:togglefullscreen');
    }
  });

  it('a development run has Toggle Developer Tools in the View menu', () => {
    const template = appMenuTemplate(actions, { platform: 'linux', devTools: true });
    const view = template.find((item) => item.label === 'View')!;
    expect(entries(view.submenu as MenuItemConstructorOptions[])).toContain('role:toggleDevTools');
  });

  it('are allowed unpackaged, or packaged only with STUDIO_DEVTOOLS=1', () => {
    expect(DEVTOOLS_ENV).toBe('STUDIO_DEVTOOLS');
    expect(devToolsAllowed(false, {})).toBe(true);
    expect(devToolsAllowed(true, {})).toBe(false);
    expect(devToolsAllowed(true, { STUDIO_DEVTOOLS: '1' })).toBe(true);
    for (const value of ['0', '', 'true', 'yes']) expect(devToolsAllowed(true, { STUDIO_DEVTOOLS: value }), value).toBe(false);
  });
});

describe('menu layout', () => {
  it('has the app menu on macOS only, and Close there instead of Quit', () => {
    const mac = entries(appMenuTemplate(actions, { platform: 'darwin', devTools: false }));
    const linux = entries(appMenuTemplate(actions, { platform: 'linux', devTools: false }));
    expect(mac[0]).toBe('role:appMenu');
    expect(mac).toContain('role:close');
    expect(mac).not.toContain('role:quit');
    expect(linux).not.toContain('role:appMenu');
    expect(linux).toContain('role:quit');
  });

  it('wires File and Help items to the actions', () => {
    calls.length = 0;
    const template = appMenuTemplate(actions, { platform: 'linux', devTools: false });
    const items = template.flatMap((item) => (Array.isArray(item.submenu) ? item.submenu : []));
    for (const label of ['Open Index…', 'New Index…', 'About Feature Studio', 'Show Settings Folder']) {
      const item = items.find((i) => i.label === label)!;
      (item.click as () => void)();
    }
    expect(calls).toEqual(['openIndex', 'newIndex', 'about', 'showSettingsFolder']);
    expect(items.find((i) => i.label === 'Open Index…')!.accelerator).toBe('CmdOrCtrl+O');
  });
});
