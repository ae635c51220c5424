import { BrowserWindow, session, shell } from 'electron';
import { APP_ENTRY_URL } from './trust.js';
import { lockDownContents } from './hardening.js';
import { devServerCsp, mainWindowOptions } from './windowPolicy.js';

// The one studio window, locked down: isolated and sandboxed renderer, no Node, no navigation
// away from the app in any frame, new windows refused (web links open in the system browser), no
// DevTools unless allowed. The decisions themselves are pure functions in windowPolicy.ts, wired
// in hardening.ts.

export interface MainWindowOptions {
  preloadPath: string;
  /** Vite dev server URL under `npm run dev` (ELECTRON_RENDERER_URL); else the app protocol. */
  devServerUrl?: string;
  /** Whether DevTools may open at all (devToolsAllowed in menuTemplate.ts); off by default. */
  devTools?: boolean;
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
  const win = new BrowserWindow(mainWindowOptions(options.preloadPath, options.devTools ?? false));
  win.once('ready-to-show', () => win.show());
  // Also done for every webContents by main.ts (web-contents-created); doing it here as well keeps
  // the window safe however it is created, and lockDownContents runs once per contents.
  lockDownContents(win.webContents, { devServerUrl, openExternal: (url) => void shell.openExternal(url) });

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
