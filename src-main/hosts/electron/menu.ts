import { Menu, type MenuItemConstructorOptions } from 'electron';

// Application menu. The actions live in main.ts, which owns the backend, window and dialogs.

export interface MenuActions {
  openIndex(): void;
  newIndex(): void;
  about(): void;
  showSettingsFolder(): void;
}

export function buildAppMenu(actions: MenuActions): Menu {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
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
        { role: 'toggleDevTools' },
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
  return Menu.buildFromTemplate(template);
}
