import { BrowserWindow, session, shell } from 'electron';
import { APP_ENTRY_URL } from './trust.js';
import { devServerCsp, mainWindowOptions, navigationDecision, redirectAllowed, windowOpenDecision } from './windowPolicy.js';

// The one studio window, locked down: isolated and sandboxed renderer, no Node, no navigation
// away from the app, new windows refused (web links open in the system browser). The decisions
// themselves are pure functions in windowPolicy.ts.

export interface MainWindowOptions {
  preloadPath: string;
  /** Vite dev server URL under `npm run dev` (ELECTRON_RENDERER_URL); else the app protocol. */
  devServerUrl?: string;
}

/** The dev server serves over http; its CSP comes from response headers we add here. */
function applyDevCsp(devServerUrl: string): void {
  const origin = new URL(devServerUrl);
  const csp = devServerCsp(devServerUrl);
  session.defaultSession.webRequest.onHeadersReceived({ urls: [`${origin.origin}/*`] }, (details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const { devServerUrl } = options;
  const win = new BrowserWindow(mainWindowOptions(options.preloadPath));
  win.once('ready-to-show', () => win.show());

  win.webContents.setWindowOpenHandler(({ url }) => {
    if (windowOpenDecision(url) === 'open-external') void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event, url) => {
    const decision = navigationDecision(url, devServerUrl);
    if (decision === 'allow') return;
    event.preventDefault();
    if (decision === 'open-external') void shell.openExternal(url);
  });
  win.webContents.on('will-redirect', (event, url) => {
    if (!redirectAllowed(url, devServerUrl)) event.preventDefault();
  });

  if (devServerUrl) {
    applyDevCsp(devServerUrl);
    void win.loadURL(devServerUrl);
  } else {
    void win.loadURL(APP_ENTRY_URL);
  }
  return win;
}

/** Moves the renderer to a hash route (`#/index/<id>/features`) without reloading it. */
export function navigateTo(win: BrowserWindow, hashRoute: string): void {
  void win.webContents.executeJavaScript(`window.location.hash = ${JSON.stringify(hashRoute)};`);
}
