import type { BrowserWindowConstructorOptions } from 'electron';
import { contentSecurityPolicy } from '../csp.js';
import { THUMB_SCHEME } from '../../contract/index.js';
import { isTrustedRendererUrl } from './trust.js';

// The window's security decisions as pure functions (no electron runtime import), so they are
// unit-tested without the Electron binary; window.ts only wires them to the BrowserWindow.

/** webPreferences the one studio window is made with: isolated, sandboxed, no Node, no webviews. */
export function mainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1400,
    height: 900,
    minWidth: 800,
    minHeight: 500,
    show: false,
    title: 'Feature Studio',
    backgroundColor: '#1b1b1f',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      spellcheck: false,
    },
  };
}

/** http(s) links, which belong in the system browser. */
export function isExternalWebLink(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

export type NavigationDecision = 'allow' | 'deny' | 'open-external';

/** will-navigate: stay on our own pages; web links go to the system browser; anything else is refused. */
export function navigationDecision(url: string, devServerUrl?: string): NavigationDecision {
  if (isTrustedRendererUrl(url, devServerUrl)) return 'allow'; // reloads and in-app links
  return isExternalWebLink(url) ? 'open-external' : 'deny';
}

/** setWindowOpenHandler: never a new Electron window; web links open in the system browser. */
export function windowOpenDecision(url: string): Exclude<NavigationDecision, 'allow'> {
  return isExternalWebLink(url) ? 'open-external' : 'deny';
}

/** will-redirect: only to our own pages. */
export function redirectAllowed(url: string, devServerUrl?: string): boolean {
  return isTrustedRendererUrl(url, devServerUrl);
}

/** The CSP the dev server's responses get (`npm run dev`): the app's, plus Vite's HMR websocket. */
export function devServerCsp(devServerUrl: string): string {
  const origin = new URL(devServerUrl);
  return contentSecurityPolicy({
    imgSrc: [`${THUMB_SCHEME}:`],
    connectSrc: [`ws://${origin.host}`],
  });
}
