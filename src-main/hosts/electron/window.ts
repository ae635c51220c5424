import { BrowserWindow, session, shell } from 'electron';
import { contentSecurityPolicy } from '../csp.js';
import { THUMB_SCHEME } from '../../contract/index.js';
import { APP_ENTRY_URL, isTrustedRendererUrl } from './trust.js';

// The one studio window, locked down: isolated and sandboxed renderer, no Node, no navigation
// away from the app, new windows refused (web links open in the system browser).

export interface MainWindowOptions {
  preloadPath: string;
  /** Vite dev server URL under `npm run dev` (ELECTRON_RENDERER_URL); else the app protocol. */
  devServerUrl?: string;
}

function isExternalWebLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/** The dev server serves over http; its CSP comes from response headers we add here. */
function applyDevCsp(devServerUrl: string): void {
  const origin = new URL(devServerUrl);
  const csp = contentSecurityPolicy({
    imgSrc: [`${THUMB_SCHEME}:`],
    connectSrc: [`ws://${origin.host}`],
  });
  session.defaultSession.webRequest.onHeadersReceived({ urls: [`${origin.origin}/*`] }, (details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const { devServerUrl } = options;
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 800,
    minHeight: 500,
    show: false,
    title: 'Feature Studio',
    backgroundColor: '#1b1b1f',
    webPreferences: {
      preload: options.preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());

  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isExternalWebLink(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event, url) => {
    if (isTrustedRendererUrl(url, devServerUrl)) return; // reloads and in-app links
    event.preventDefault();
    if (isExternalWebLink(url)) void shell.openExternal(url);
  });
  win.webContents.on('will-redirect', (event, url) => {
    if (!isTrustedRendererUrl(url, devServerUrl)) event.preventDefault();
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
