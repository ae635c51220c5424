import { Menu } from 'electron';
import { appMenuTemplate, type MenuActions, type MenuOptions } from './menuTemplate.js';

// Application menu. The actions live in main.ts, which owns the backend, window and dialogs; the
// template itself (and whether it offers DevTools) is the pure appMenuTemplate.

export type { MenuActions, MenuOptions } from './menuTemplate.js';

export function buildAppMenu(actions: MenuActions, options: MenuOptions): Menu {
  return Menu.buildFromTemplate(appMenuTemplate(actions, options));
}
