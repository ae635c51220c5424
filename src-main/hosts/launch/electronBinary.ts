import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runChild } from './runChild.js';

// Electron's binary, obtained before electron-vite needs it.
//
// Why this exists: electron (45) downloads its binary only when its installer runs (its
// `install.js`, which `require('electron')` or the `install-electron` bin call), and writes
// `path.txt` when done. electron-vite reads `path.txt` itself, or ELECTRON_EXEC_PATH, and throws
// "Electron uninstall" when neither is there; nothing else in `npm start` runs the installer. So
// the start path runs Electron's own installer (it honours ELECTRON_MIRROR, the cache settings and,
// with ELECTRON_GET_USE_PROXY, HTTPS_PROXY/HTTP_PROXY/NO_PROXY) under a time limit, then hands
// the binary to electron-vite through ELECTRON_EXEC_PATH.

export interface ElectronPackage {
  /** node_modules/electron */
  dir: string;
  version: string;
}

export type ObtainResult = { ok: true; binary: string; downloaded: boolean } | { ok: false; reason: string };

export function findElectronPackage(projectRoot: string): ElectronPackage | null {
  const dir = path.join(projectRoot, 'node_modules', 'electron');
  try {
    const { version } = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof version === 'string' ? { dir, version } : null;
  } catch {
    return null;
  }
}

/** The executable's name inside Electron's dist folder, as electron's installer writes it to path.txt. */
function electronExecutableName(platform: NodeJS.Platform): string {
  if (platform === 'darwin') return 'Electron.app/Contents/MacOS/Electron';
  if (platform === 'win32') return 'electron.exe';
  return 'electron';
}

/**
 * The binary electron-vite should start, when one is already there: ELECTRON_EXEC_PATH (electron-
 * vite's own override), else path.txt resolved the way electron's index.js does (inside
 * ELECTRON_OVERRIDE_DIST_PATH when set, else the package's dist/).
 */
export function installedElectronBinary(pkg: ElectronPackage, env: NodeJS.ProcessEnv, platform = process.platform): string | null {
  if (env.ELECTRON_EXEC_PATH) return existsSync(env.ELECTRON_EXEC_PATH) ? env.ELECTRON_EXEC_PATH : null;
  let recorded: string | null = null;
  try {
    recorded = readFileSync(path.join(pkg.dir, 'path.txt'), 'utf8').trim() || null;
  } catch {
    recorded = null;
  }
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const binary = path.join(env.ELECTRON_OVERRIDE_DIST_PATH, recorded ?? electronExecutableName(platform));
    return existsSync(binary) ? binary : null;
  }
  if (!recorded) return null;
  const binary = path.join(pkg.dir, 'dist', recorded);
  return existsSync(binary) ? binary : null;
}

const PROXY_VARIABLES = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

/** The installer's environment: the user's, with npm's proxy settings made visible to @electron/get. */
function installerEnv(env: NodeJS.ProcessEnv, tempDir: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  // `npm start` exposes npm's own proxy config as npm_config_*; @electron/get reads only the
  // standard variables, and only when ELECTRON_GET_USE_PROXY is set.
  if (!out.HTTPS_PROXY && !out.https_proxy && out.npm_config_https_proxy) out.HTTPS_PROXY = out.npm_config_https_proxy;
  if (!out.HTTP_PROXY && !out.http_proxy && out.npm_config_proxy) out.HTTP_PROXY = out.npm_config_proxy;
  if (!out.NO_PROXY && !out.no_proxy && out.npm_config_noproxy) out.NO_PROXY = out.npm_config_noproxy;
  if (PROXY_VARIABLES.some((name) => out[name])) out.ELECTRON_GET_USE_PROXY ??= '1';
  // Our own progress line replaces @electron/get's bar (which appears only after 30 s).
  out.ELECTRON_GET_NO_PROGRESS = '1';
  // The download lands in a folder of ours, so its growth can be shown as progress.
  out.TMPDIR = tempDir;
  out.TEMP = tempDir;
  out.TMP = tempDir;
  return out;
}

/** Bytes written so far under `dir` (the partial download). */
function bytesUnder(dir: string): number {
  let total = 0;
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += bytesUnder(full);
    else if (entry.isFile()) {
      try {
        total += statSync(full).size;
      } catch {
        // removed between listing and stat
      }
    }
  }
  return total;
}

/** One sentence from the installer's output: its error line, not a stack frame. */
export function installerFailure(outputTail: string[]): string {
  const lines = outputTail.map((line) => line.trim()).filter((line) => line && !line.startsWith('at '));
  const errorLine = [...lines].reverse().find((line) => /error|failed|not available|ENOTFOUND|ECONN|EAI_AGAIN|ETIMEDOUT|40\d|50\d/i.test(line));
  const line = errorLine ?? lines.at(-1) ?? 'no output';
  if (/fetch failed|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|getaddrinfo/i.test(line)) {
    return `the download failed (${line}): offline, or a proxy or firewall in the way? Set HTTPS_PROXY, ELECTRON_MIRROR (a mirror) or ELECTRON_OVERRIDE_DIST_PATH (an Electron you already have)`;
  }
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

export interface ObtainOptions {
  env: NodeJS.ProcessEnv;
  /** Give up after this long; an unreachable host must not hang the start. */
  timeoutMs: number;
  /** Progress: bytes downloaded so far and seconds elapsed. */
  onProgress?: (bytes: number, elapsedSeconds: number) => void;
  platform?: NodeJS.Platform;
}

/** Returns Electron's binary, running Electron's own installer first when it is missing. */
export async function obtainElectron(pkg: ElectronPackage, options: ObtainOptions): Promise<ObtainResult> {
  const present = installedElectronBinary(pkg, options.env, options.platform);
  if (present) return { ok: true, binary: present, downloaded: false };
  if (options.env.ELECTRON_EXEC_PATH) {
    return { ok: false, reason: `ELECTRON_EXEC_PATH points at ${options.env.ELECTRON_EXEC_PATH}, which does not exist` };
  }

  const installer = path.join(pkg.dir, 'install.js');
  if (!existsSync(installer)) return { ok: false, reason: `Electron's installer is missing (${installer}); run "npm install" again` };

  const tempDir = mkdtempSync(path.join(os.tmpdir(), 'feature-studio-electron-'));
  try {
    const result = await runChild(process.execPath, [installer], {
      cwd: pkg.dir,
      env: installerEnv(options.env, tempDir),
      timeoutMs: options.timeoutMs,
      tickMs: 1000,
      onTick: (elapsedMs) => options.onProgress?.(bytesUnder(tempDir), elapsedMs / 1000),
    });
    if (result.timedOut) {
      return {
        ok: false,
        reason: `the download did not finish within ${Math.round(options.timeoutMs / 1000)} s (raise STUDIO_ELECTRON_TIMEOUT, in seconds, on a slow connection)`,
      };
    }
    if (result.spawnError) return { ok: false, reason: `Electron's installer could not start: ${result.spawnError}` };
    if (result.code !== 0) return { ok: false, reason: `Electron's installer failed: ${installerFailure(result.outputTail)}` };
    const binary = installedElectronBinary(pkg, options.env, options.platform);
    if (!binary) return { ok: false, reason: 'Electron\'s installer finished but left no binary (no path.txt or no executable in dist/)' };
    return { ok: true, binary, downloaded: true };
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}
