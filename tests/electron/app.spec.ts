import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findElectronPackage, installedElectronBinary } from '../../src-main/hosts/launch/electronBinary.js';
import { prepareNativeSqlite } from '../../src-main/hosts/launch/electronNativeSqlite.js';
import { _electron as electron, expect, test, type ElectronApplication, type Page } from '@playwright/test';

// The real Electron app. Needs Electron's binary, which `npm start` fetches with Electron's own
// installer (or `node node_modules/electron/install.js`) and which cannot be downloaded on our
// build machines: there these specs skip.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Path of the installed Electron binary, or null, found the way `npm start` finds it. Deliberately
 * not `require('electron')`: with no binary, the electron package starts a download from inside
 * require().
 */
function electronBinary(): string | null {
  const pkg = findElectronPackage(root);
  return pkg ? installedElectronBinary(pkg, process.env) : null;
}

const binary = electronBinary();
test.skip(!binary, 'Electron binary not installed on this machine (npm start downloads it when it can); skipping Electron specs');
test.describe.configure({ mode: 'serial' });

async function ensureBuilt(): Promise<void> {
  if (!existsSync(path.join(root, 'out', 'main', 'index.js'))) {
    const { build } = await import('electron-vite');
    await build({ root });
  }
}

/** Starts the app as `electron <root> [...args]` with a throw-away settings folder. */
async function launch(userData: string, args: string[] = [], env: Record<string, string> = {}): Promise<ElectronApplication> {
  return electron.launch({
    executablePath: binary!,
    args: [root, ...args],
    cwd: root,
    env: { ...process.env, STUDIO_USER_DATA_DIR: userData, ELECTRON_RENDERER_URL: '', ...env },
  });
}

test.describe('a fresh start', () => {
  let app: ElectronApplication;
  let userData: string;

  test.beforeAll(async () => {
    await ensureBuilt();
    userData = mkdtempSync(path.join(os.tmpdir(), 'studio-electron-'));
    app = await launch(userData);
  });

  test.afterAll(async () => {
    await app?.close();
    if (userData) rmSync(userData, { recursive: true, force: true });
  });

  test('opens the welcome screen in a locked-down window', async () => {
    const page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
    await expect(page).toHaveTitle('Feature Studio');
    expect(page.url()).toMatch(/^studio-app:\/\/renderer\//);
    await expect(page.getByRole('heading', { name: 'Feature Studio', level: 1 })).toBeVisible();

    // The preload exposes the typed API and nothing of Node or ipcRenderer.
    const exposed = await page.evaluate(() => ({
      studio: Object.keys((window as unknown as { studio?: object }).studio ?? {}).sort(),
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
    }));
    expect(exposed.studio).toContain('appInfo');
    expect(exposed.studio).toContain('onEvent');
    expect(exposed.studio).not.toContain('invoke');
    expect(exposed.require).toBe('undefined');
    expect(exposed.process).toBe('undefined');

    const info = await page.evaluate(() =>
      (window as unknown as { studio: { appInfo(): Promise<{ ok: true; result: { host: string } }> } }).studio.appInfo(),
    );
    expect(info).toMatchObject({ ok: true, result: { host: 'electron' } });

    // An error keeps its code across contextBridge (it travels as an envelope, not a throw), so
    // the renderer can tell "not found" from a bug.
    const missing = await page.evaluate(() =>
      (window as unknown as { studio: { openIndex(a: { path: string }): Promise<unknown> } }).studio.openIndex({
        path: '/no/such/feature-studio-index',
      }),
    );
    expect(missing).toMatchObject({ ok: false, error: { code: 'not-found' } });
    // Arguments are checked against the contract in the main process: an unknown field is refused.
    const extra = await page.evaluate(() =>
      (window as unknown as { studio: { openIndex(a: object): Promise<unknown> } }).studio.openIndex({ path: '/x', recursive: true }),
    );
    expect(extra).toMatchObject({ ok: false, error: { code: 'bad-request', message: expect.stringContaining('"recursive"') } });

    // No Node in the page even through a worker the page could start.
    const workerRequire = await page.evaluate(async () => {
      const code = 'postMessage(typeof require + "/" + typeof process)';
      const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
      return await new Promise<string>((resolve) => (worker.onmessage = (e) => resolve(String(e.data))));
    });
    expect(workerRequire).toBe('undefined/undefined');

    // Navigation away from the app is refused (will-navigate), so the page stays ours.
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    await page.waitForTimeout(500);
    expect(page.url()).toMatch(/^studio-app:\/\/renderer\//);
  });

  test('keeps every frame on the app, opens no windows and grants no permissions', async () => {
    const page = await app.firstWindow();
    // The app makes no iframes; one that got in must not leave the app either (CSP frame-src and
    // will-frame-navigate both refuse), whether it is sent to the web or to a local file.
    await page.evaluate(() => {
      for (const url of ['https://example.com/', 'file:///etc/hosts']) {
        const frame = document.createElement('iframe');
        document.body.appendChild(frame);
        frame.src = url;
      }
    });
    await page.waitForTimeout(1_000);
    const frameUrls = page.frames().map((f) => f.url());
    expect(frameUrls.length).toBeGreaterThanOrEqual(1);
    for (const url of frameUrls) expect(url).not.toMatch(/^(https?|file):/);
    expect(page.url()).toMatch(/^studio-app:\/\/renderer\//);

    // window.open never makes an Electron window (a non-web URL is not opened anywhere; a web
    // one would go to the system browser, which a test should not start).
    const opened = await page.evaluate(() => window.open('file:///etc/hosts') === null);
    expect(opened).toBe(true);
    await page.waitForTimeout(300);
    expect(app.windows()).toHaveLength(1);

    // Permission requests are refused: only the clipboard write is ever granted.
    expect(await page.evaluate(() => Notification.requestPermission())).toBe('denied');
    const geolocation = await page.evaluate(async () => (await navigator.permissions.query({ name: 'geolocation' })).state);
    expect(geolocation).not.toBe('granted');
  });

  test('offers DevTools only because this is an unpackaged run', async () => {
    // app.isPackaged is false here (electron <project>), so DevTools are allowed; an installed app
    // has neither the menu item nor webPreferences.devTools (tests/unit/electron-menu.test.ts).
    const roles = await app.evaluate(({ app: electronApp, Menu }) => {
      const collect = (items: Electron.MenuItem[]): string[] =>
        items.flatMap((i) => [String(i.role ?? ''), ...(i.submenu ? collect(i.submenu.items) : [])]);
      return { packaged: electronApp.isPackaged, roles: collect(Menu.getApplicationMenu()?.items ?? []) };
    });
    expect(roles.packaged).toBe(false);
    expect(roles.roles.map((r) => r.toLowerCase())).toContain('toggledevtools');
  });
});

test.describe('Feature Studio <index folder>', () => {
  let app: ElectronApplication;
  let work: string;
  let page: Page;

  test.beforeAll(async () => {
    test.setTimeout(240_000);
    await ensureBuilt();
    // better-sqlite3 for Electron's ABI (.electron-native/), as npm start makes it; a no-op when
    // already built. The first run downloads a prebuilt binary or Electron's headers.
    const electronVersion = findElectronPackage(root)!.version;
    const native = await prepareNativeSqlite(
      { projectRoot: root, electronVersion, platform: process.platform, arch: process.arch },
      { env: process.env, prebuiltTimeoutMs: 120_000, say: (line) => console.log(line) },
    );
    if (!native.ok) throw new Error(native.reason);
    work = mkdtempSync(path.join(os.tmpdir(), 'studio-electron-index-'));
    const { buildFixtureIndex } = await import('../helpers/buildFixtureIndex.js');
    const fixture = await buildFixtureIndex(path.join(work, 'fixture'));
    app = await launch(path.join(work, 'settings'), [fixture.indexDir]);
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  test.afterAll(async () => {
    await app?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('opens the index named on the command line and walks features → feature → back', async () => {
    // Straight to the features table of that index (the service opened it at start).
    await expect(page).toHaveURL(/#\/index\/[0-9a-f]{12}\/features/, { timeout: 30_000 });
    const rows = page.getByTestId('feature-row');
    await expect(rows.first()).toBeVisible();
    const featuresUrl = page.url();

    // Open a feature: its exemplars, with thumbnails served by the studio-thumb protocol.
    const feature = await rows.first().getAttribute('data-feature');
    await rows.first().click();
    await expect(page).toHaveURL(new RegExp(`/feature/${feature}$`));
    const tiles = page.getByTestId('exemplar');
    await expect(tiles.first()).toBeVisible();
    expect(await tiles.count()).toBeGreaterThan(0);
    const image = tiles.first().locator('img');
    await expect(image).toHaveAttribute('src', /^studio-thumb:\/\//);
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

    // Back returns to the table.
    await page.goBack();
    await expect(page).toHaveURL(featuresUrl);
    await expect(rows.first()).toBeVisible();
  });
});

test.describe('the demo', () => {
  let app: ElectronApplication;
  let userData: string;

  test.beforeAll(async () => {
    await ensureBuilt();
    userData = mkdtempSync(path.join(os.tmpdir(), 'studio-electron-demo-'));
    app = await launch(userData, [], { STUDIO_DEMO_SIZE: 'small' });
  });

  test.afterAll(async () => {
    await app?.close();
    if (userData) rmSync(userData, { recursive: true, force: true });
  });

  test('the welcome screen builds the demo in the worker and opens it', async () => {
    test.setTimeout(300_000);
    const page = await app.firstWindow();
    await page.getByTestId('demo-build').click();
    await expect(page.getByTestId('demo-progress')).toBeVisible();
    await expect(page).toHaveURL(/#\/index\/[^/]+\/features/, { timeout: 240_000 });
    await expect(page.getByTestId('feature-row').first()).toBeVisible();
    expect(existsSync(path.join(userData, 'demo', 'demo.json'))).toBe(true);
  });
});
