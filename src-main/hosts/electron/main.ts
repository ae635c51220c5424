import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, Menu, protocol, session, shell, type OpenDialogOptions } from 'electron';
import { IPC_EVENT_CHANNEL, type PathKind } from '../../contract/index.js';
import type { StudioBackend } from '../../core/backend.js';
import { createStudioService } from '../../core/service.js';
import { APP_SCHEME_PRIVILEGES, registerAppProtocol } from './appProtocol.js';
import { hardenSession, lockDownContents } from './hardening.js';
import { registerIpc } from './ipc.js';
import { indexFolderOf, indexPathFromArgv } from './launchArgs.js';
import { buildAppMenu } from './menu.js';
import { devToolsAllowed } from './menuTemplate.js';
import { useElectronSqlite } from './nativeSqlite.js';
import { registerThumbProtocol, THUMB_SCHEME_PRIVILEGES } from './thumbProtocol.js';
import { trustedSenderCheck } from './trust.js';
import { createMainWindow, navigateTo } from './window.js';
import { debuggingSwitches } from './windowPolicy.js';

// Electron shell: a thin adapter that wires the core service to one window. All behaviour lives
// in the service; this file only owns Electron objects (window, menu, dialogs, protocols, IPC).

const mainDir = path.dirname(fileURLToPath(import.meta.url)); // out/main
const preloadPath = path.join(mainDir, '..', 'preload', 'index.cjs');
const rendererDir = path.join(mainDir, '..', 'renderer');
// Only an unpackaged app may load the Vite dev server; a packaged one always uses its own files.
const devServerUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
// DevTools (menu item and the window's devTools preference): unpackaged, or STUDIO_DEVTOOLS=1.
const devTools = devToolsAllowed(app.isPackaged, process.env);
// An installed app never starts with a Chrome DevTools protocol endpoint open (the fuses already
// stop Node's --inspect); the Electron specs drive the unpackaged app, which is not affected.
const refusedSwitches = app.isPackaged ? debuggingSwitches(process.argv) : [];

// Tests (and users who want a throw-away profile) point the settings somewhere else.
if (process.env.STUDIO_USER_DATA_DIR) app.setPath('userData', path.resolve(process.env.STUDIO_USER_DATA_DIR));

// Must happen before `ready`, and only once for all custom schemes.
protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES, THUMB_SCHEME_PRIVILEGES]);

let backend: StudioBackend | null = null;
let mainWindow: BrowserWindow | null = null;
/** An index folder macOS handed us (`open-file`) before the service was up. */
let pendingOpen: string | null = null;

const launchArgOptions = (cwd: string) => ({ cwd, defaultApp: Boolean(process.defaultApp) });
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function pickPath(kind: PathKind, title?: string): Promise<string | null> {
  const options: OpenDialogOptions = {
    title,
    properties: kind === 'directory' ? ['openDirectory', 'createDirectory'] : ['openFile'],
  };
  const result = mainWindow
    ? await dialog.showOpenDialog(mainWindow, options)
    : await dialog.showOpenDialog(options);
  return result.canceled ? null : (result.filePaths[0] ?? null);
}

function showWindow(): BrowserWindow {
  if (mainWindow && !mainWindow.isDestroyed()) {
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
    return mainWindow;
  }
  mainWindow = createMainWindow({ preloadPath, devServerUrl, devTools });
  mainWindow.on('closed', () => (mainWindow = null));
  return mainWindow;
}

async function openIndexAt(dir: string): Promise<void> {
  if (!backend) return;
  try {
    const summary = await backend.openIndex({ path: dir });
    navigateTo(showWindow(), `#/index/${summary.id}/features`);
  } catch (err) {
    dialog.showErrorBox('Could not open the index', messageOf(err));
  }
}

async function openIndexFromMenu(): Promise<void> {
  if (!backend) return;
  const dir = await pickPath('directory', 'Open an index folder');
  if (dir) await openIndexAt(dir);
}

function showAbout(): void {
  const versions = process.versions;
  void dialog.showMessageBox({
    type: 'info',
    title: 'About Feature Studio',
    message: `Feature Studio ${app.getVersion()}`,
    detail: `Electron ${versions.electron}\nChromium ${versions.chrome}\nNode ${versions.node}\nSettings: ${app.getPath('userData')}`,
  });
}

const openExternal = (url: string) => void shell.openExternal(url);

/**
 * Every webContents (the window's, and any other Electron or Chromium makes) stays on the app in
 * every frame, and every session refuses all permissions but the clipboard write (hardening.ts).
 * Registered before `ready`, so no contents or session is created before the handlers exist; the
 * default session, which cannot be touched before `ready`, is hardened in start().
 */
function hardenAllContentsAndSessions(): void {
  app.on('web-contents-created', (_event, contents) => lockDownContents(contents, { devServerUrl, openExternal }));
  app.on('session-created', (ses) => hardenSession(ses, devServerUrl));
}

async function start(): Promise<void> {
  const sqliteBinding = useElectronSqlite(app.getAppPath());
  if (!sqliteBinding && !app.isPackaged) {
    console.warn(
      'better-sqlite3 has no Electron build in .electron-native/; start the app with "npm start", which builds it, if opening an index fails.',
    );
  }
  hardenSession(session.defaultSession, devServerUrl);
  registerAppProtocol(protocol, rendererDir);

  // `Feature Studio <index folder>` (see launchArgs.ts): opened at start, like `studio serve DIR`.
  const launchIndex = pendingOpen ?? indexPathFromArgv(process.argv, launchArgOptions(process.cwd()));
  pendingOpen = null;
  // STUDIO_DEMO_SIZE=small builds the smaller demo (the Electron spec uses it).
  const demoSize = process.env.STUDIO_DEMO_SIZE === 'small' ? ('small' as const) : undefined;
  const serviceOptions = { settingsDir: app.getPath('userData'), host: 'electron' as const, pickPath, demoSize };
  try {
    backend = await createStudioService({ ...serviceOptions, openAtStart: launchIndex ?? undefined }).catch((err: unknown) => {
      if (!launchIndex) throw err;
      // A folder that is not a readable index must not keep the app from starting.
      dialog.showErrorBox(`Could not open ${launchIndex}`, messageOf(err));
      return createStudioService(serviceOptions);
    });
  } catch (err) {
    dialog.showErrorBox('Feature Studio could not start', messageOf(err));
    app.exit(1);
    return;
  }
  registerThumbProtocol(protocol, backend, devServerUrl);
  registerIpc(ipcMain, backend, trustedSenderCheck(devServerUrl));
  backend.onEvent((event) => {
    if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(IPC_EVENT_CHANNEL, event);
  });

  const menuActions = {
    openIndex: () => void openIndexFromMenu(),
    newIndex: () => navigateTo(showWindow(), '#/'),
    about: showAbout,
    showSettingsFolder: () => void shell.openPath(app.getPath('userData')),
  };
  Menu.setApplicationMenu(buildAppMenu(menuActions, { platform: process.platform, devTools }));
  showWindow();
}

if (refusedSwitches.length > 0) {
  console.error(`Feature Studio does not start with debugging switches: ${refusedSwitches.join(' ')}`);
  app.exit(1);
} else if (!app.requestSingleInstanceLock()) {
  // One instance: two would share the settings folder and could index into the same folder.
  app.quit();
} else {
  hardenAllContentsAndSessions();
  app.on('second-instance', (_event, argv, workingDirectory) => {
    showWindow();
    const dir = indexPathFromArgv(argv, launchArgOptions(workingDirectory));
    if (dir) void openIndexAt(dir);
  });
  // macOS hands over folders given to `open -a "Feature Studio" <folder>` (or dropped on the Dock
  // icon) as open-file events, possibly before `ready`.
  app.on('open-file', (event, file) => {
    event.preventDefault();
    const dir = indexFolderOf(file);
    if (!dir) return;
    if (backend) {
      showWindow();
      void openIndexAt(dir);
    } else {
      pendingOpen = dir;
    }
  });
  app.on('activate', () => {
    if (backend && BrowserWindow.getAllWindows().length === 0) showWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let closing = false;
  app.on('before-quit', (event) => {
    // Close the service first: running jobs stop at a batch boundary and can be resumed.
    if (closing || !backend) return;
    closing = true;
    event.preventDefault();
    backend
      .close()
      .catch((err: unknown) => console.error('Closing the studio service failed:', err))
      .finally(() => app.quit());
  });

  app.whenReady().then(start, (err: unknown) => {
    console.error(err);
    app.exit(1);
  });
}
