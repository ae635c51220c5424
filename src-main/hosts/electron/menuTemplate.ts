import type { MenuItemConstructorOptions } from 'electron';

// The application menu as data: a pure function of the actions and of what this run may show,
// so tests check it under plain Node (no Electron binary); menu.ts turns it into a Menu.

export interface MenuActions {
  openIndex(): void;
  newIndex(): void;
  about(): void;
  showSettingsFolder(): void;
}

export interface MenuOptions {
  platform: NodeJS.Platform;
  /** Whether the View menu offers "Toggle Developer Tools" (see devToolsAllowed). */
  devTools: boolean;
}

/** Setting this to `1` brings DevTools back into an installed app, to diagnose a user's problem. */
export const DEVTOOLS_ENV = 'STUDIO_DEVTOOLS';

/**
 * DevTools are for development: an unpackaged app (`npm start`, `npm run dev`) has them, an
 * installed one only when started with STUDIO_DEVTOOLS=1. In an installed app they would give
 * anyone at the keyboard a console into the page that holds the preload's API, and they are no
 * use to a user who is not debugging the app.
 */
export function devToolsAllowed(isPackaged: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return !isPackaged || env[DEVTOOLS_ENV] === '1';
}

export function appMenuTemplate(actions: MenuActions, options: MenuOptions): MenuItemConstructorOptions[] {
  const isMac = options.platform === 'darwin';
  const developer: MenuItemConstructorOptions[] = options.devTools ? [{ role: 'toggleDevTools' }] : [];
  return [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open Index…', accelerator: 'CmdOrCtrl+O', click: () => actions.openIndex() },
        { label: 'New Index…', accelerator: 'CmdOrCtrl+N', click: () => actions.newIndex() },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        { role: 'forceReload' },
        ...developer,
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { role: 'windowMenu' },
    {
      role: 'help',
      submenu: [
        { label: 'About Feature Studio', click: () => actions.about() },
        { label: 'Show Settings Folder', click: () => actions.showSettingsFolder() },
      ],
    },
  ];
}
