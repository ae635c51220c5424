import { findElectronPackage, obtainElectron } from './electronBinary.js';
import type { NativeResult, NativeTarget } from './electronNativeSqlite.js';
import { APP_NODE_MIN, isAtLeast } from './nodeVersion.js';
import { parseStartRequest, type StartRequest } from './startMode.js';

// `npm start`: the desktop app when it can run here, else the same studio in the browser.
//
// Order matters: every check that can rule Electron out runs before anything slow (the Electron
// download, better-sqlite3 for Electron), so an offline machine reaches the web studio in seconds
// instead of compiling for minutes and then failing.

export interface StartDeps {
  projectRoot: string;
  env: NodeJS.ProcessEnv;
  nodeVersion: string;
  platform: NodeJS.Platform;
  arch: string;
  /** Progress and outcome lines for the user. */
  say(line: string): void;
  /** Rewrites one status line in place (a terminal), or prints it now and then. */
  status(line: string): void;
  prepareNativeSqlite(target: NativeTarget): Promise<NativeResult>;
  /** Runs electron-vite (preview, or dev) with this Electron binary; resolves with its exit code and signal. */
  launchElectron(binary: string, request: StartRequest): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Serves the studio on loopback and opens the browser; resolves with the exit code when stopped. */
  serveWeb(request: StartRequest): Promise<number>;
}

const DEFAULT_DOWNLOAD_LIMIT_S = 600;

function downloadLimitMs(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env.STUDIO_ELECTRON_TIMEOUT);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : DEFAULT_DOWNLOAD_LIMIT_S) * 1000;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Why Electron cannot run here before anything is downloaded, or null. */
function upFrontProblem(deps: StartDeps, electronVersion: string): string | null {
  if (!isAtLeast(deps.nodeVersion, APP_NODE_MIN)) {
    return `Node ${deps.nodeVersion.replace(/^v/, '')} is older than ${APP_NODE_MIN}, which Electron ${electronVersion}'s installer and tooling need (the CLI and the web studio run on Node 20.19+)`;
  }
  if (deps.platform === 'linux' && !deps.env.DISPLAY && !deps.env.WAYLAND_DISPLAY) {
    return 'there is no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset)';
  }
  return null;
}

/** Everything up to a runnable Electron; a string says why not. */
async function readyElectron(deps: StartDeps): Promise<string | { binary: string }> {
  const pkg = findElectronPackage(deps.projectRoot);
  if (!pkg) return 'the electron package is not installed (run "npm install", without --omit=dev)';
  const problem = upFrontProblem(deps, pkg.version);
  if (problem) return problem;

  const started = Date.now();
  let announced = false;
  const electron = await obtainElectron(pkg, {
    env: deps.env,
    timeoutMs: downloadLimitMs(deps.env),
    platform: deps.platform,
    onProgress: (bytes, seconds) => {
      if (!announced) {
        announced = true;
        const where = deps.env.ELECTRON_MIRROR ? ` from ${deps.env.ELECTRON_MIRROR}` : '';
        deps.say(`Downloading Electron ${pkg.version} for ${deps.platform}-${deps.arch}${where} (once, about 100 MB)…`);
      }
      deps.status(`  ${megabytes(bytes)} after ${Math.round(seconds)} s`);
    },
  });
  if (!electron.ok) return electron.reason;
  if (electron.downloaded) deps.say(`Electron ${pkg.version} is installed (${Math.round((Date.now() - started) / 1000)} s).`);

  const native = await deps.prepareNativeSqlite({
    projectRoot: deps.projectRoot,
    electronVersion: pkg.version,
    platform: deps.platform,
    arch: deps.arch,
  });
  if (!native.ok) return native.reason;
  return { binary: electron.binary };
}

export async function startStudio(argv: string[], deps: StartDeps): Promise<number> {
  let request: StartRequest;
  try {
    request = parseStartRequest(argv, deps.env);
  } catch (err) {
    deps.say(`npm start: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  if (request.mode === 'web') return deps.serveWeb(request);

  const ready = await readyElectron(deps);
  if (typeof ready === 'string') {
    if (request.mode === 'electron') {
      deps.say(`Feature Studio: the desktop app cannot start: ${ready}.`);
      deps.say('STUDIO_START=electron asked for the app only, so nothing else starts; "npm start -- --web" serves the studio in a browser.');
      return 1;
    }
    return fallBackToWeb(deps, request, ready);
  }

  const { code, signal } = await deps.launchElectron(ready.binary, request);
  // A window closed normally (0) or a Ctrl-C (a signal, or 130) ends the start; a crash at launch
  // (missing system libraries, a GPU process that cannot start) still ends in a working studio.
  if (code === 0 || signal !== null || code === 130 || request.mode === 'electron') return code ?? 1;
  return fallBackToWeb(deps, request, `Electron exited with code ${code} (its own output above says why)`);
}

function fallBackToWeb(deps: StartDeps, request: StartRequest, reason: string): Promise<number> {
  deps.say(`Feature Studio: the desktop app cannot start: ${reason}.`);
  deps.say('Starting the same studio in your browser instead ("npm start -- --web" skips the app, STUDIO_START=electron insists on it).');
  return deps.serveWeb(request);
}
