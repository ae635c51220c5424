import type { BrowserWindowConstructorOptions } from 'electron';
import { contentSecurityPolicy } from '../csp.js';
import { THUMB_SCHEME } from '../../contract/index.js';
import { isTrustedRendererUrl } from './trust.js';

// The window's security decisions as pure functions (no electron runtime import), so they are
// unit-tested without the Electron binary; window.ts only wires them to the BrowserWindow.

/**
 * webPreferences the one studio window is made with: isolated, sandboxed, no Node, no webviews.
 * `devTools` is false unless the caller allows DevTools (an unpackaged app, or STUDIO_DEVTOOLS=1;
 * see devToolsAllowed in menuTemplate.ts): with it off, neither the menu, a shortcut nor
 * webContents.openDevTools() can open them in an installed app.
 */
export function mainWindowOptions(preloadPath: string, devTools = false): BrowserWindowConstructorOptions {
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
      devTools,
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

/**
 * will-frame-navigate for a sub-frame (an iframe, which the app never makes: one would be
 * injected content). It may only move within our own pages; anything else is refused and, unlike a
 * top-level link, not handed to the system browser either, so a frame cannot open browser tabs.
 * Main-frame navigations are decided by navigationDecision (will-navigate).
 */
export function subFrameNavigationAllowed(url: string, devServerUrl?: string): boolean {
  return isTrustedRendererUrl(url, devServerUrl);
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

/**
 * Permissions a page may have: writing to the clipboard ("copy feature id", which also has a
 * fallback without it), nothing else — no camera, microphone, notifications, geolocation,
 * fullscreen, MIDI, HID/serial/USB, openExternal, file system access, …
 */
export const GRANTED_PERMISSIONS: ReadonlySet<string> = new Set(['clipboard-sanitized-write']);

/**
 * Permission request and check handlers of every session: granted only when the permission is in
 * GRANTED_PERMISSIONS *and* it is asked for by our own page's main frame. `requestingUrl` is the
 * URL (or, for a check without one, the origin) of the frame that asks.
 */
export function permissionGranted(
  permission: string,
  request: { requestingUrl?: string; isMainFrame?: boolean },
  devServerUrl?: string,
): boolean {
  if (!GRANTED_PERMISSIONS.has(permission)) return false;
  if (request.isMainFrame === false) return false;
  return typeof request.requestingUrl === 'string' && isTrustedRendererUrl(request.requestingUrl, devServerUrl);
}

/**
 * Chromium switches that open a debugging endpoint into the renderers (the Chrome DevTools
 * protocol). The enableNodeCliInspectArguments fuse stops only Node's --inspect; these are
 * Chromium's own, so a packaged app refuses to start with them (main.ts).
 */
const DEBUG_SWITCHES = new Set(['remote-debugging-port', 'remote-debugging-pipe', 'remote-debugging-address', 'remote-allow-origins']);

/**
 * The debugging switches in `argv`, in order, spelled the ways Chromium accepts a switch:
 * `--name`, `-name`, `/name` (Windows), with or without `=value`, any case (Windows lower-cases
 * switches). Arguments after a bare `--` are not switches to Chromium and are not looked at.
 */
export function debuggingSwitches(argv: readonly string[]): string[] {
  const found: string[] = [];
  for (const arg of argv) {
    if (arg === '--') break;
    const name = /^(?:--?|\/)([^=]+)/.exec(arg)?.[1]?.toLowerCase();
    if (name && DEBUG_SWITCHES.has(name)) found.push(arg);
  }
  return found;
}
