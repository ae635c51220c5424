import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test, type ElectronApplication } from '@playwright/test';

// The real Electron app. Needs Electron's binary, which `npm install` fetches lazily (on first
// launch) and which cannot be downloaded on our build machines: there these specs skip.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Path of the downloaded Electron binary, or null. Deliberately not `require('electron')`: with
 * no binary, the electron package starts a download from inside require().
 */
function electronBinary(): string | null {
  const pkg = path.join(root, 'node_modules', 'electron');
  const pathFile = path.join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = path.join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : null;
}

const binary = electronBinary();
test.skip(!binary, 'Electron binary not installed on this machine (it downloads on first npm start); skipping Electron specs');

let app: ElectronApplication;
let userData: string;

test.beforeAll(async () => {
  if (!existsSync(path.join(root, 'out', 'main', 'index.js'))) {
    const { build } = await import('electron-vite');
    await build({ root });
  }
  userData = mkdtempSync(path.join(os.tmpdir(), 'studio-electron-'));
  app = await electron.launch({
    executablePath: binary!,
    args: [root],
    cwd: root,
    env: { ...process.env, STUDIO_USER_DATA_DIR: userData, ELECTRON_RENDERER_URL: '' },
  });
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
    (window as unknown as { studio: { appInfo(): Promise<{ host: string }> } }).studio.appInfo(),
  );
  expect(info.host).toBe('electron');

  // Navigation away from the app is refused (will-navigate), so the page stays ours.
  await page.evaluate(() => {
    window.location.href = 'https://example.com/';
  });
  await page.waitForTimeout(500);
  expect(page.url()).toMatch(/^studio-app:\/\/renderer\//);
});
