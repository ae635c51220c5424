import type { Session, WebContents } from 'electron';
import { navigationDecision, permissionGranted, redirectAllowed, subFrameNavigationAllowed, windowOpenDecision } from './windowPolicy.js';

// Wires windowPolicy.ts's decisions to Electron objects. Takes the objects (and openExternal) as
// arguments and imports nothing of electron at run time, so tests drive it with stand-ins.

export interface HardeningOptions {
  /** Vite dev server URL under `npm run dev`; its origin then counts as ours. */
  devServerUrl?: string;
  /** shell.openExternal: where web links go instead of an Electron window. */
  openExternal(url: string): void;
}

type PreventableEvent = { preventDefault(): void };
type Contents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/** Contents already locked down: the main window's contents are reached twice (see main.ts). */
const locked = new WeakSet<object>();

/**
 * Keeps every frame of `contents` on the app: the main frame's navigations (will-navigate: web
 * links go to the system browser), every sub-frame's (will-frame-navigate), server redirects
 * (will-redirect), new windows (setWindowOpenHandler: never an Electron window) and <webview>s
 * (will-attach-webview: none; webviewTag is off as well). Idempotent.
 */
export function lockDownContents(contents: Contents, options: HardeningOptions): void {
  if (locked.has(contents)) return;
  locked.add(contents);
  const { devServerUrl, openExternal } = options;

  contents.setWindowOpenHandler(({ url }) => {
    if (windowOpenDecision(url) === 'open-external') openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event: PreventableEvent, url: string) => {
    const decision = navigationDecision(url, devServerUrl);
    if (decision === 'allow') return;
    event.preventDefault();
    if (decision === 'open-external') openExternal(url);
  });
  contents.on('will-frame-navigate', (event) => {
    // The main frame's navigation also reaches will-navigate, which decides it (once).
    if (event.isMainFrame) return;
    if (!subFrameNavigationAllowed(event.url, devServerUrl)) event.preventDefault();
  });
  contents.on('will-redirect', (event: PreventableEvent, url: string) => {
    if (!redirectAllowed(url, devServerUrl)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event: PreventableEvent) => event.preventDefault());
}

type SessionLike = Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'>;

/**
 * Permission handlers for a session: everything refused except GRANTED_PERMISSIONS for our own
 * page (permissionGranted); device access (HID, serial, USB) refused outright. main.ts applies it
 * to the default session and to every session created later.
 */
export function hardenSession(ses: SessionLike, devServerUrl?: string): void {
  ses.setPermissionRequestHandler((_contents, permission, callback, details) => {
    callback(permissionGranted(permission, details, devServerUrl));
  });
  // A check made for no document (a worker) has no requestingUrl (absent or empty): the origin
  // then stands in for it.
  ses.setPermissionCheckHandler((_contents, permission, requestingOrigin, details) =>
    permissionGranted(permission, { requestingUrl: details.requestingUrl || requestingOrigin, isMainFrame: details.isMainFrame }, devServerUrl),
  );
  ses.setDevicePermissionHandler(() => false);
}
