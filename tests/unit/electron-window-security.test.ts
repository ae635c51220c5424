import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ELECTRON_CSP } from '../../src-main/hosts/electron/appProtocol.js';
import { hardenSession, lockDownContents } from '../../src-main/hosts/electron/hardening.js';
import { APP_ENTRY_URL } from '../../src-main/hosts/electron/trust.js';
import {
  debuggingSwitches,
  devServerCsp,
  GRANTED_PERMISSIONS,
  isExternalWebLink,
  mainWindowOptions,
  navigationDecision,
  permissionGranted,
  redirectAllowed,
  subFrameNavigationAllowed,
  windowOpenDecision,
} from '../../src-main/hosts/electron/windowPolicy.js';

// The studio window's security settings, checked without the Electron binary: the pure policy in
// windowPolicy.ts, and window.ts's wiring of it against a stand-in for electron's BrowserWindow.

type Listener = (...args: unknown[]) => unknown;

const fake = vi.hoisted(() => {
  const state = {
    windows: [] as Array<{
      options: unknown;
      listeners: Map<string, (...args: unknown[]) => unknown>;
      openHandler?: (details: { url: string }) => unknown;
      loaded: string[];
    }>,
    openedExternally: [] as string[],
    headerHooks: [] as unknown[],
  };
  class BrowserWindow {
    record: (typeof state.windows)[number];
    webContents: {
      setWindowOpenHandler(h: (details: { url: string }) => unknown): void;
      on(event: string, l: (...args: unknown[]) => unknown): void;
      executeJavaScript(code: string): Promise<unknown>;
    };
    constructor(options: unknown) {
      const record = { options, listeners: new Map(), loaded: [] as string[] } as (typeof state.windows)[number];
      this.record = record;
      state.windows.push(record);
      this.webContents = {
        setWindowOpenHandler: (h) => {
          record.openHandler = h;
        },
        on: (event, l) => {
          record.listeners.set(event, l);
        },
        executeJavaScript: async () => undefined,
      };
    }
    once() {}
    show() {}
    async loadURL(url: string) {
      this.record.loaded.push(url);
    }
  }
  return {
    state,
    module: {
      BrowserWindow,
      shell: {
        openExternal: async (url: string) => {
          state.openedExternally.push(url);
        },
      },
      session: { defaultSession: { webRequest: { onHeadersReceived: (...args: unknown[]) => state.headerHooks.push(args) } } },
    },
  };
});

vi.mock('electron', () => ({ ...fake.module, default: fake.module }));

const { createMainWindow } = await import('../../src-main/hosts/electron/window.js');

function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((parts) => parts[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('BrowserWindow options', () => {
  it('isolates and sandboxes the renderer, without Node, webviews or insecure content', () => {
    const { webPreferences } = mainWindowOptions('/app/out/preload/index.cjs');
    expect(webPreferences).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    // DevTools cannot be opened at all unless the caller allows them (an unpackaged app).
    expect(webPreferences!.devTools).toBe(false);
    expect(mainWindowOptions('/p.cjs', true).webPreferences!.devTools).toBe(true);
    // Nothing that loosens the defaults sneaks in.
    for (const key of ['enableBlinkFeatures', 'additionalArguments', 'partition', 'session']) {
      expect(webPreferences).not.toHaveProperty(key);
    }
  });

  it('is what window.ts creates, and the window loads the app protocol page', () => {
    fake.state.windows.length = 0;
    createMainWindow({ preloadPath: '/app/out/preload/index.cjs' });
    expect(fake.state.windows).toHaveLength(1);
    expect(fake.state.windows[0]!.options).toEqual(mainWindowOptions('/app/out/preload/index.cjs'));
    expect(fake.state.windows[0]!.loaded).toEqual([APP_ENTRY_URL]);
  });

  it('gets DevTools only when main.ts allows them', () => {
    fake.state.windows.length = 0;
    createMainWindow({ preloadPath: '/p.cjs' });
    createMainWindow({ preloadPath: '/p.cjs', devTools: true });
    const prefs = fake.state.windows.map((w) => (w.options as { webPreferences: { devTools?: boolean } }).webPreferences.devTools);
    expect(prefs).toEqual([false, true]);
  });
});

describe('navigation and new windows', () => {
  let win: (typeof fake.state.windows)[number];
  beforeEach(() => {
    fake.state.windows.length = 0;
    fake.state.openedExternally.length = 0;
    createMainWindow({ preloadPath: '/p.cjs' });
    win = fake.state.windows[0]!;
  });

  const navigate = (event: string, url: string) => {
    const e = { prevented: false, preventDefault() { this.prevented = true; } };
    (win.listeners.get(event) as Listener)(e, url);
    return e.prevented;
  };

  it('stays on the app: in-app navigation passes, everything else is stopped', () => {
    expect(navigate('will-navigate', `${APP_ENTRY_URL}#/index/abc/features`)).toBe(false);
    expect(navigate('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(navigate('will-navigate', 'studio-app://other/index.html')).toBe(true);
    expect(navigate('will-navigate', 'javascript:alert(1)')).toBe(true);
    expect(fake.state.openedExternally).toEqual([]);
  });

  it('sends web links to the system browser instead of navigating', () => {
    expect(navigate('will-navigate', 'https://github.com/some/paper')).toBe(true);
    expect(navigate('will-navigate', 'http://example.com/')).toBe(true);
    expect(fake.state.openedExternally).toEqual(['https://github.com/some/paper', 'http://example.com/']);
  });

  it('never opens a new Electron window; web links open externally, other schemes nowhere', () => {
    expect(win.openHandler!({ url: 'https://example.com/a' })).toEqual({ action: 'deny' });
    expect(win.openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    expect(win.openHandler!({ url: `${APP_ENTRY_URL}#/x` })).toEqual({ action: 'deny' });
    expect(win.openHandler!({ url: 'smb://host/share' })).toEqual({ action: 'deny' });
    expect(fake.state.openedExternally).toEqual(['https://example.com/a']);
  });

  it('keeps every sub-frame on the app, and never sends a frame to the system browser', () => {
    const frameNavigate = (url: string, isMainFrame: boolean) => {
      const e = { url, isMainFrame, prevented: false, preventDefault() { this.prevented = true; } };
      (win.listeners.get('will-frame-navigate') as Listener)(e);
      return e.prevented;
    };
    for (const url of ['https://evil.example/', 'http://localhost:5173/', 'file:///etc/passwd', 'data:text/html,<p>x', 'about:blank', 'javascript:alert(1)', 'studio-app://other/index.html', 'studio-thumb://a/1.webp']) {
      expect(frameNavigate(url, false), url).toBe(true);
    }
    expect(frameNavigate(`${APP_ENTRY_URL}#/x`, false)).toBe(false);
    // The main frame's navigations are left to will-navigate, which decides them once.
    expect(frameNavigate('https://evil.example/', true)).toBe(false);
    expect(fake.state.openedExternally).toEqual([]);
  });

  it('refuses every <webview>', () => {
    expect(navigate('will-attach-webview', 'https://example.com/')).toBe(true);
  });

  it('stops redirects away from the app', () => {
    expect(navigate('will-redirect', 'https://evil.example/')).toBe(true);
    expect(navigate('will-redirect', `${APP_ENTRY_URL}`)).toBe(false);
  });

  it('in development trusts only the dev server origin', () => {
    const dev = 'http://localhost:5173';
    expect(navigationDecision('http://localhost:5173/#/x', dev)).toBe('allow');
    expect(navigationDecision('http://localhost:5174/', dev)).toBe('open-external');
    expect(navigationDecision('http://localhost:5173/')).toBe('open-external');
    expect(redirectAllowed('http://localhost:5173/a', dev)).toBe(true);
    expect(redirectAllowed('http://localhost:5173/a')).toBe(false);
  });

  it('sub-frame policy: only our own pages (or the dev server in development)', () => {
    expect(subFrameNavigationAllowed(`${APP_ENTRY_URL}`)).toBe(true);
    expect(subFrameNavigationAllowed('https://example.com/')).toBe(false);
    expect(subFrameNavigationAllowed('http://localhost:5173/a', 'http://localhost:5173')).toBe(true);
    expect(subFrameNavigationAllowed('http://localhost:5173/a')).toBe(false);
  });

  it('classifies links', () => {
    expect(isExternalWebLink('https://a.b/')).toBe(true);
    expect(isExternalWebLink('HTTP://A.B/')).toBe(true);
    for (const url of ['file:///x', 'javascript:void(0)', 'data:text/html,x', 'studio-thumb://a/1.webp', 'mailto:a@b.c', 'not a url']) {
      expect(isExternalWebLink(url), url).toBe(false);
      expect(windowOpenDecision(url)).toBe('deny');
    }
  });
});

describe('Content-Security-Policy', () => {
  it.each([
    ['app protocol', ELECTRON_CSP],
    ['dev server', devServerCsp('http://localhost:5173')],
  ])('%s: no eval, scripts only from the app, connections and images restricted', (_name, csp) => {
    const d = directives(csp);
    expect(csp).not.toContain("'unsafe-eval'");
    expect(csp).not.toContain("'wasm-unsafe-eval'");
    expect(d.get('default-src')).toEqual(["'self'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    expect(d.get('frame-ancestors')).toEqual(["'none'"]);
    expect(d.get('form-action')).toEqual(["'none'"]);
    // Images: our own files, canvas exports and the thumbnail scheme; never the network.
    expect(d.get('img-src')).toEqual(["'self'", 'data:', 'blob:', 'studio-thumb:']);
    // Connections: our origin, plus only the dev server's HMR socket under `npm run dev`.
    const connect = d.get('connect-src')!;
    expect(connect[0]).toBe("'self'");
    for (const source of connect.slice(1)) expect(source).toBe('ws://localhost:5173');
    for (const values of d.values()) {
      for (const v of values) expect(['*', 'http:', 'https:', 'ws:', 'wss:', 'file:']).not.toContain(v);
    }
  });

  it('the app protocol CSP allows no extra connection at all', () => {
    expect(directives(ELECTRON_CSP).get('connect-src')).toEqual(["'self'"]);
  });

  it('the thumbnail scheme is an image source and nothing else (figure export draws thumbnails as images, never fetches them)', () => {
    for (const csp of [ELECTRON_CSP, devServerCsp('http://localhost:5173')]) {
      const d = directives(csp);
      for (const [name, values] of d) expect(values.includes('studio-thumb:'), name).toBe(name === 'img-src');
    }
    expect(ELECTRON_CSP).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: studio-thumb:; font-src 'self' data:; " +
        "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
  });
});

describe('every webContents', () => {
  const fakeContents = () => {
    const listeners = new Map<string, Listener[]>();
    let openHandler: ((d: { url: string }) => unknown) | undefined;
    let openHandlers = 0;
    const contents = {
      on(event: string, l: Listener) {
        listeners.set(event, [...(listeners.get(event) ?? []), l]);
        return contents;
      },
      setWindowOpenHandler(h: (d: { url: string }) => unknown) {
        openHandler = h;
        openHandlers++;
      },
    };
    return { contents, listeners, open: (url: string) => openHandler!({ url }), openHandlers: () => openHandlers };
  };

  it('is locked down once, however often it is reached (window.ts and web-contents-created)', () => {
    const c = fakeContents();
    const opened: string[] = [];
    const options = { openExternal: (u: string) => opened.push(u) };
    lockDownContents(c.contents as never, options);
    lockDownContents(c.contents as never, options);
    expect(c.openHandlers()).toBe(1);
    for (const event of ['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']) {
      expect(c.listeners.get(event), event).toHaveLength(1);
    }
    // A single will-navigate to a web link opens one browser tab, not two.
    (c.listeners.get('will-navigate')![0]!)({ preventDefault() {} }, 'https://example.com/');
    expect(opened).toEqual(['https://example.com/']);
    expect(c.open('https://example.com/b')).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://example.com/', 'https://example.com/b']);
  });
});

describe('permissions', () => {
  const page = { requestingUrl: `${APP_ENTRY_URL}#/index/x/features`, isMainFrame: true };

  it('grants only the clipboard write, and only to our own main frame', () => {
    expect([...GRANTED_PERMISSIONS]).toEqual(['clipboard-sanitized-write']);
    expect(permissionGranted('clipboard-sanitized-write', page)).toBe(true);
    expect(permissionGranted('clipboard-sanitized-write', { requestingUrl: 'studio-app://renderer' })).toBe(true);
    for (const permission of ['media', 'geolocation', 'notifications', 'fullscreen', 'clipboard-read', 'openExternal', 'fileSystem', 'hid', 'serial', 'usb', 'midiSysex', 'display-capture', 'unknown']) {
      expect(permissionGranted(permission, page), permission).toBe(false);
    }
    expect(permissionGranted('clipboard-sanitized-write', { ...page, isMainFrame: false })).toBe(false);
    expect(permissionGranted('clipboard-sanitized-write', { requestingUrl: 'https://evil.example/', isMainFrame: true })).toBe(false);
    expect(permissionGranted('clipboard-sanitized-write', { isMainFrame: true })).toBe(false);
    expect(permissionGranted('clipboard-sanitized-write', { requestingUrl: 'http://localhost:5173/' })).toBe(false);
    expect(permissionGranted('clipboard-sanitized-write', { requestingUrl: 'http://localhost:5173/' }, 'http://localhost:5173')).toBe(true);
  });

  it('are decided that way by the handlers every session gets', () => {
    type RequestHandler = (c: unknown, p: string, cb: (ok: boolean) => void, d: unknown) => void;
    type CheckHandler = (c: unknown, p: string, origin: string, d: unknown) => boolean;
    let request: RequestHandler | undefined;
    let check: CheckHandler | undefined;
    let device: (() => boolean) | undefined;
    hardenSession({
      setPermissionRequestHandler: (h: unknown) => (request = h as RequestHandler),
      setPermissionCheckHandler: (h: unknown) => (check = h as CheckHandler),
      setDevicePermissionHandler: (h: unknown) => (device = h as () => boolean),
    } as never);
    const answers: boolean[] = [];
    request!(null, 'clipboard-sanitized-write', (ok) => answers.push(ok), page);
    request!(null, 'media', (ok) => answers.push(ok), page);
    request!(null, 'clipboard-sanitized-write', (ok) => answers.push(ok), { requestingUrl: 'https://evil.example/', isMainFrame: true });
    expect(answers).toEqual([true, false, false]);
    // A check without a URL falls back to the requesting origin.
    expect(check!(null, 'clipboard-sanitized-write', 'studio-app://renderer', { isMainFrame: true })).toBe(true);
    expect(check!(null, 'clipboard-sanitized-write', 'studio-app://renderer', { requestingUrl: '', isMainFrame: true })).toBe(true);
    expect(check!(null, 'clipboard-sanitized-write', 'https://evil.example', { isMainFrame: true })).toBe(false);
    expect(check!(null, 'notifications', 'studio-app://renderer', { requestingUrl: APP_ENTRY_URL, isMainFrame: true })).toBe(false);
    expect(device!()).toBe(false);
  });
});

describe('debugging switches', () => {
  it('finds Chromium\'s remote-debugging switches however they are spelled', () => {
    expect(
      debuggingSwitches([
        '/opt/Feature Studio/feature-studio',
        '--remote-debugging-port=9222',
        '-remote-debugging-pipe',
        '/REMOTE-DEBUGGING-ADDRESS=0.0.0.0',
        '--remote-allow-origins=*',
        '/data/my-index',
      ]),
    ).toEqual(['--remote-debugging-port=9222', '-remote-debugging-pipe', '/REMOTE-DEBUGGING-ADDRESS=0.0.0.0', '--remote-allow-origins=*']);
  });

  it('leaves ordinary arguments and anything after -- alone', () => {
    expect(debuggingSwitches(['/usr/bin/feature-studio', '/data/index', '--no-sandbox-is-not-ours'])).toEqual([]);
    expect(debuggingSwitches(['app', '--', '--remote-debugging-port=1'])).toEqual([]);
    expect(debuggingSwitches(['app', '--remote-debugging-portal'])).toEqual([]);
  });
});
