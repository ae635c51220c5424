import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { runChild } from './runChild.js';

// better-sqlite3 for Electron's ABI, in .electron-native/ beside node_modules.
//
// Why a separate copy: tests and the CLI run under plain Node and need node_modules' Node build;
// rebuilding node_modules in place for Electron (or in postinstall, which would need the network)
// would break them. The Electron main process points better-sqlite3 at this copy through
// STUDIO_SQLITE_NATIVE_BINDING (see src-main/hosts/electron/nativeSqlite.ts).
//
// Fast path first: better-sqlite3 publishes prebuilt Electron binaries, fetched by its own
// prebuild-install (seconds; honours npm's proxy and better-sqlite3's binary mirror settings).
// Only when none can be had is it compiled with @electron/rebuild (minutes, needs Electron's
// headers and a C++ toolchain).
//
// Layout: .electron-native/{package.json, node_modules/better-sqlite3/, stamp.json}. The stamp
// records what the binary was built for and how; when it still matches, nothing happens.

const MODULE = 'better-sqlite3';

export interface NativeTarget {
  projectRoot: string;
  electronVersion: string;
  platform: NodeJS.Platform;
  arch: string;
}

export type NativeResult = { ok: true; how: 'cached' | 'prebuilt' | 'compiled' } | { ok: false; reason: string };

export interface NativeOptions {
  env: NodeJS.ProcessEnv;
  /** Limit for fetching the prebuilt binary. */
  prebuiltTimeoutMs: number;
  /** One line of progress for the user. */
  say: (line: string) => void;
  /** Called about once a second while compiling, with the elapsed seconds. */
  onCompileTick?: (elapsedSeconds: number) => void;
  /** Replaces @electron/rebuild (tests). */
  compile?: (nativeDir: string, target: NativeTarget) => Promise<void>;
}

export function nativeDirOf(projectRoot: string): string {
  return path.join(projectRoot, '.electron-native');
}

export function nativeBindingOf(projectRoot: string): string {
  return path.join(nativeDirOf(projectRoot), 'node_modules', MODULE, 'build', 'Release', 'better_sqlite3.node');
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

function wantedStamp(target: NativeTarget, moduleVersion: string): Record<string, string> {
  return { electron: target.electronVersion, [MODULE]: moduleVersion, platform: target.platform, arch: target.arch };
}

function stampMatches(stampFile: string, wanted: Record<string, string>): boolean {
  try {
    const stamp = readJson(stampFile);
    return Object.entries(wanted).every(([key, value]) => stamp[key] === value);
  } catch {
    return false;
  }
}

/** A fresh copy of better-sqlite3 without its Node build, so no Node binary can pose as Electron's. */
function freshCopy(sourceDir: string, nativeDir: string, moduleVersion: string): string {
  const targetDir = path.join(nativeDir, 'node_modules', MODULE);
  rmSync(nativeDir, { recursive: true, force: true });
  mkdirSync(path.dirname(targetDir), { recursive: true });
  cpSync(sourceDir, targetDir, { recursive: true, filter: (src) => !src.startsWith(path.join(sourceDir, 'build')) });
  writeFileSync(
    path.join(nativeDir, 'package.json'),
    `${JSON.stringify({ name: 'feature-studio-electron-native', private: true, dependencies: { [MODULE]: moduleVersion } }, null, 2)}\n`,
  );
  return targetDir;
}

async function fetchPrebuilt(targetDir: string, target: NativeTarget, options: NativeOptions): Promise<string | null> {
  let bin: string;
  try {
    bin = createRequire(path.join(targetDir, 'package.json')).resolve('prebuild-install/bin.js');
  } catch {
    return 'prebuild-install is not installed';
  }
  const result = await runChild(
    process.execPath,
    [bin, '--runtime=electron', `--target=${target.electronVersion}`, `--arch=${target.arch}`, `--platform=${target.platform}`],
    { cwd: targetDir, env: options.env, timeoutMs: options.prebuiltTimeoutMs },
  );
  if (result.timedOut) return `no answer within ${Math.round(options.prebuiltTimeoutMs / 1000)} s`;
  if (result.code !== 0) {
    const line = result.outputTail.filter((l) => /warn|err/i.test(l)).at(-1)?.trim();
    return line ? line.replace(/^prebuild-install (warn|err!?|error) (install )?/i, '') : `exit code ${result.code}`;
  }
  return null;
}

async function compileWithElectronRebuild(nativeDir: string, target: NativeTarget): Promise<void> {
  const { rebuild } = await import('@electron/rebuild');
  await rebuild({
    buildPath: nativeDir,
    electronVersion: target.electronVersion,
    arch: target.arch,
    onlyModules: [MODULE],
    force: true,
    buildFromSource: true,
    mode: 'sequential',
  });
}

export async function prepareNativeSqlite(target: NativeTarget, options: NativeOptions): Promise<NativeResult> {
  const sourceDir = path.join(target.projectRoot, 'node_modules', MODULE);
  if (!existsSync(path.join(sourceDir, 'package.json'))) return { ok: false, reason: `${MODULE} is not installed; run "npm install" first` };
  const moduleVersion = String(readJson(path.join(sourceDir, 'package.json')).version);
  const nativeDir = nativeDirOf(target.projectRoot);
  const binding = nativeBindingOf(target.projectRoot);
  const stampFile = path.join(nativeDir, 'stamp.json');
  const wanted = wantedStamp(target, moduleVersion);
  if (existsSync(binding) && stampMatches(stampFile, wanted)) return { ok: true, how: 'cached' };

  const label = `${MODULE} ${moduleVersion} for Electron ${target.electronVersion} (${target.platform}-${target.arch})`;
  const targetDir = freshCopy(sourceDir, nativeDir, moduleVersion);
  options.say(`Fetching the prebuilt ${label} (first start only)…`);
  const prebuiltProblem = await fetchPrebuilt(targetDir, target, options);
  let how: 'prebuilt' | 'compiled' = 'prebuilt';
  if (prebuiltProblem !== null || !existsSync(binding)) {
    options.say(`No prebuilt binary (${prebuiltProblem ?? 'nothing was written'}); compiling ${label}, which takes a few minutes once…`);
    const started = Date.now();
    const ticker = options.onCompileTick ? setInterval(() => options.onCompileTick!((Date.now() - started) / 1000), 1000) : null;
    try {
      await (options.compile ?? compileWithElectronRebuild)(nativeDir, target);
    } catch (err) {
      rmSync(nativeDir, { recursive: true, force: true });
      const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
      return {
        ok: false,
        reason: `could not get ${label}: no prebuilt binary (${prebuiltProblem}) and compiling failed (${message}); compiling needs Electron's headers (network) and a C++ toolchain`,
      };
    } finally {
      if (ticker) clearInterval(ticker);
    }
    how = 'compiled';
  }
  if (!existsSync(binding)) {
    rmSync(nativeDir, { recursive: true, force: true });
    return { ok: false, reason: `building ${label} finished but left no ${path.relative(target.projectRoot, binding)}` };
  }
  writeFileSync(stampFile, `${JSON.stringify({ ...wanted, how, builtAt: new Date().toISOString() }, null, 2)}\n`);
  return { ok: true, how };
}
