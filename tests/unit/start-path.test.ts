import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installerFailure, obtainElectron, findElectronPackage } from '../../src-main/hosts/launch/electronBinary.js';
import { browserCommand } from '../../src-main/hosts/launch/openBrowser.js';
import { parseStartRequest } from '../../src-main/hosts/launch/startMode.js';
import { startStudio, type StartDeps } from '../../src-main/hosts/launch/startStudio.js';
import { writeFakeElectronPackage, type InstallerBehaviour } from '../helpers/fakeElectronPackage.js';

// `npm start` on a fresh clone: Electron's installer runs before anything needs the binary, and
// whenever Electron cannot be had the same studio starts in the browser instead, with a reason.

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

function project(behaviour: InstallerBehaviour | null): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'start-path-'));
  roots.push(root);
  if (behaviour) writeFakeElectronPackage(root, behaviour);
  return root;
}

function calls(root: string): string[] {
  const file = path.join(root, 'calls.log');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n') : [];
}

interface Harness {
  deps: StartDeps;
  lines: string[];
  statuses: string[];
  launched: string[];
}

function harness(root: string, overrides: Partial<StartDeps> = {}, launchCode = 0): Harness {
  const lines: string[] = [];
  const statuses: string[] = [];
  const launched: string[] = [];
  const log = (what: string) => writeFileSync(path.join(root, 'calls.log'), `${what}\n`, { flag: 'a' });
  const deps: StartDeps = {
    projectRoot: root,
    env: { DISPLAY: ':0', PATH: process.env.PATH },
    nodeVersion: 'v22.12.0',
    platform: 'linux',
    arch: 'x64',
    say: (line) => lines.push(line),
    status: (line) => statuses.push(line),
    prepareNativeSqlite: async () => {
      log('native');
      return { ok: true, how: 'prebuilt' };
    },
    launchElectron: async (binary) => {
      log('launch');
      launched.push(binary);
      return { code: launchCode, signal: null };
    },
    serveWeb: async () => {
      log('web');
      return 0;
    },
    ...overrides,
  };
  return { deps, lines, statuses, launched };
}

describe('npm start with a fresh node_modules/electron (no path.txt)', () => {
  it('runs Electron\'s installer first, then better-sqlite3 for Electron, then launches that binary', async () => {
    const root = project('installs');
    expect(existsSync(path.join(root, 'node_modules', 'electron', 'path.txt'))).toBe(false);
    const h = harness(root);
    expect(await startStudio([], h.deps)).toBe(0);
    expect(calls(root)).toEqual(['installer', 'native', 'launch']);
    expect(h.launched).toEqual([path.join(root, 'node_modules', 'electron', 'dist', 'electron')]);
    expect(h.lines[0]).toMatch(/^Downloading Electron 45\.4\.1 for linux-x64 \(once, about 100 MB\)…$/);
    // the partial download in the installer's temp folder shows as progress
    expect(h.statuses.some((s) => /0\.3 MB after \d+ s/.test(s))).toBe(true);
    expect(h.lines.at(-1)).toMatch(/^Electron 45\.4\.1 is installed/);
  });

  it('gives the installer the user\'s mirror and npm\'s proxy in the variables @electron/get reads', async () => {
    const root = project('installs');
    const h = harness(root);
    h.deps.env = { ...h.deps.env, ELECTRON_MIRROR: 'https://mirror.example/electron/', npm_config_https_proxy: 'http://proxy:3128' };
    await startStudio([], h.deps);
    const env = JSON.parse(readFileSync(path.join(root, 'installer-env.json'), 'utf8')) as Record<string, string>;
    expect(env.ELECTRON_MIRROR).toBe('https://mirror.example/electron/');
    expect(env.HTTPS_PROXY).toBe('http://proxy:3128');
    expect(env.ELECTRON_GET_USE_PROXY).toBe('1');
    expect(h.lines[0]).toContain('from https://mirror.example/electron/');
  });

  it('starts the web studio when the installer fails, saying why in two lines, without building anything for Electron', async () => {
    const root = project('fails-offline');
    const h = harness(root);
    expect(await startStudio([], h.deps)).toBe(0);
    expect(calls(root)).toEqual(['installer', 'web']);
    expect(h.lines).toHaveLength(2);
    expect(h.lines[0]).toMatch(/^Feature Studio: the desktop app cannot start: Electron's installer failed: the download failed \(TypeError: fetch failed\)/);
    expect(h.lines[0]).toContain('ELECTRON_MIRROR');
    expect(h.lines[1]).toMatch(/^Starting the same studio in your browser instead/);
  });

  it('gives up on an installer that hangs after the time limit', async () => {
    const root = project('hangs');
    const h = harness(root);
    h.deps.env = { ...h.deps.env, STUDIO_ELECTRON_TIMEOUT: '1' };
    const started = Date.now();
    expect(await startStudio([], h.deps)).toBe(0);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(calls(root)).toEqual(['installer', 'web']);
    expect(h.lines.at(-2)).toContain('the download did not finish within 1 s');
  });

  it('says so when the installer exits without leaving a binary', async () => {
    const root = project('exits-without-binary');
    const h = harness(root);
    await startStudio([], h.deps);
    expect(calls(root)).toEqual(['installer', 'web']);
    expect(h.lines[0]).toContain('left no binary');
  });

  it('uses ELECTRON_OVERRIDE_DIST_PATH without downloading', async () => {
    const root = project('fails-offline');
    const dist = path.join(root, 'my-electron');
    mkdirSync(dist);
    writeFileSync(path.join(dist, 'electron'), '');
    const h = harness(root);
    h.deps.env = { ...h.deps.env, ELECTRON_OVERRIDE_DIST_PATH: dist };
    await startStudio([], h.deps);
    expect(calls(root)).toEqual(['native', 'launch']);
    expect(h.launched).toEqual([path.join(dist, 'electron')]);
  });
});

describe('npm start rules Electron out before any download', () => {
  it('on a Node older than 22.12', async () => {
    const root = project('installs');
    const h = harness(root, { nodeVersion: 'v20.20.2' });
    await startStudio([], h.deps);
    expect(calls(root)).toEqual(['web']);
    expect(h.lines[0]).toContain('Node 20.20.2 is older than 22.12.0, which Electron 45.4.1');
  });

  it('on Linux without a display, but not on macOS', async () => {
    const root = project('installs');
    const h = harness(root, { env: { PATH: process.env.PATH } });
    await startStudio([], h.deps);
    expect(calls(root)).toEqual(['web']);
    expect(h.lines[0]).toContain('no display');

    const mac = project('installs');
    const m = harness(mac, { env: { PATH: process.env.PATH }, platform: 'darwin' });
    await startStudio([], m.deps);
    expect(calls(mac)[0]).toBe('installer');
  });

  it('when the electron package is not installed', async () => {
    const root = project(null);
    const h = harness(root);
    await startStudio([], h.deps);
    expect(calls(root)).toEqual(['web']);
    expect(h.lines[0]).toContain('the electron package is not installed');
  });
});

describe('npm start after Electron is there', () => {
  it('falls back to the web studio when better-sqlite3 for Electron cannot be had', async () => {
    const root = project('installs');
    const h = harness(root, { prepareNativeSqlite: async () => ({ ok: false, reason: 'no prebuilt binary and no compiler' }) });
    await startStudio([], h.deps);
    expect(calls(root)).toEqual(['installer', 'web']);
    expect(h.lines.at(-2)).toContain('no prebuilt binary and no compiler');
  });

  it('falls back when Electron crashes at launch, not when its window is closed or on Ctrl-C', async () => {
    const crash = project('installs');
    const c = harness(crash, {}, 1);
    await startStudio([], c.deps);
    expect(calls(crash)).toEqual(['installer', 'native', 'launch', 'web']);
    expect(c.lines.at(-2)).toContain('Electron exited with code 1');

    const closed = project('installs');
    expect(await startStudio([], harness(closed, {}, 0).deps)).toBe(0);
    expect(calls(closed)).toEqual(['installer', 'native', 'launch']);

    const interrupted = project('installs');
    const i = harness(interrupted);
    i.deps.launchElectron = async () => ({ code: null, signal: 'SIGINT' });
    await startStudio([], i.deps);
    expect(calls(interrupted)).toEqual(['installer', 'native']);
  });
});

describe('forcing a mode', () => {
  it('--web and STUDIO_START=web go straight to the browser', async () => {
    const root = project('installs');
    await startStudio(['--web'], harness(root).deps);
    const env = harness(root);
    env.deps.env = { ...env.deps.env, STUDIO_START: 'web' };
    await startStudio([], env.deps);
    expect(calls(root)).toEqual(['web', 'web']);
  });

  it('STUDIO_START=electron fails with the reason instead of serving', async () => {
    const root = project('fails-offline');
    const h = harness(root);
    h.deps.env = { ...h.deps.env, STUDIO_START: 'electron' };
    expect(await startStudio([], h.deps)).toBe(1);
    expect(calls(root)).toEqual(['installer']);
    expect(h.lines[0]).toContain('download failed');
  });

  it('refuses unknown options and modes with the usage', async () => {
    const root = project(null);
    const h = harness(root);
    expect(await startStudio(['--wbe'], h.deps)).toBe(2);
    expect(h.lines[0]).toContain('usage: npm start');
    expect(() => parseStartRequest([], { STUDIO_START: 'desktop' })).toThrow(/web, electron or auto/);
    expect(parseStartRequest(['--port', '0', '--dev'], {})).toEqual({ mode: 'auto', dev: true, port: 0 });
    expect(() => parseStartRequest(['--port', 'x'], {})).toThrow(/--port/);
  });
});

describe('start path details', () => {
  it('reads the error line of the installer, not a stack frame', () => {
    expect(installerFailure(['Error: Electron builds are not available on platform: aix', '    at getPlatformPath (install.js:9:9)'])).toBe(
      'Error: Electron builds are not available on platform: aix',
    );
  });

  it('an existing ELECTRON_EXEC_PATH that does not exist is named', async () => {
    const root = project('installs');
    const pkg = findElectronPackage(root)!;
    const result = await obtainElectron(pkg, { env: { ELECTRON_EXEC_PATH: '/nowhere/electron' }, timeoutMs: 1000 });
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('/nowhere/electron') });
    expect(calls(root)).toEqual([]);
  });

  it('opens a browser only where one can show', () => {
    expect(browserCommand('http://127.0.0.1:1/', {}, 'linux')).toBeNull();
    expect(browserCommand('http://127.0.0.1:1/', { DISPLAY: ':0' }, 'linux')).toEqual({ command: 'xdg-open', args: ['http://127.0.0.1:1/'] });
    expect(browserCommand('http://127.0.0.1:1/', {}, 'darwin')?.command).toBe('open');
    expect(browserCommand('http://127.0.0.1:1/', { BROWSER: 'firefox' }, 'linux')).toEqual({ command: 'firefox', args: ['http://127.0.0.1:1/'] });
  });
});
