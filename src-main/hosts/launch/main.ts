import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PROJECT_ROOT, processCliDeps } from '../cli/processDeps.js';
import { runCli } from '../cli/program.js';
import { prepareNativeSqlite } from './electronNativeSqlite.js';
import { startStudio, type StartDeps } from './startStudio.js';

// Process entry of `npm start` / `npm run dev` (scripts/start.mjs loads this through tsx): the real
// Electron download, native build, electron-vite and web host behind startStudio's decisions.

const interactive = Boolean(process.stdout.isTTY);
let lastStatusAt = 0;
let statusShown = false;

function endStatusLine(): void {
  if (statusShown && interactive) process.stdout.write('\n');
  statusShown = false;
}

function say(line: string): void {
  endStatusLine();
  process.stdout.write(`${line}\n`);
}

function status(line: string): void {
  if (interactive) {
    process.stdout.write(`\r${line}\x1b[K`);
    statusShown = true;
  } else if (Date.now() - lastStatusAt >= 10_000) {
    // Logs (CI, a pipe) get a line every 10 s instead of carriage returns.
    lastStatusAt = Date.now();
    process.stdout.write(`${line}\n`);
  }
}

function electronViteBin(): string {
  const require = createRequire(path.join(PROJECT_ROOT, 'package.json'));
  return path.join(path.dirname(require.resolve('electron-vite/package.json')), 'bin', 'electron-vite.js');
}

const deps: StartDeps = {
  projectRoot: PROJECT_ROOT,
  env: process.env,
  nodeVersion: process.version,
  platform: process.platform,
  arch: process.arch,
  say,
  status,
  prepareNativeSqlite: (target) =>
    prepareNativeSqlite(target, {
      env: process.env,
      prebuiltTimeoutMs: 120_000,
      say,
      onCompileTick: (seconds) => status(`  compiling… ${Math.round(seconds)} s`),
    }),
  launchElectron(binary, request) {
    endStatusLine();
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [electronViteBin(), request.dev ? 'dev' : 'preview'], {
        cwd: PROJECT_ROOT,
        stdio: 'inherit',
        // electron-vite reads ELECTRON_EXEC_PATH before its own path.txt lookup.
        env: { ...process.env, ELECTRON_EXEC_PATH: binary },
      });
      child.on('error', (err) => {
        say(`Could not run electron-vite: ${err.message}`);
        resolve({ code: 1, signal: null });
      });
      child.on('close', (code, signal) => resolve({ code, signal }));
    });
  },
  serveWeb(request) {
    endStatusLine();
    const args = ['serve', '--open', ...(request.port !== undefined ? ['--port', String(request.port)] : [])];
    return runCli(args, processCliDeps());
  },
};

const code = await startStudio(process.argv.slice(2), deps);
process.exitCode = code;
setTimeout(() => process.exit(code), 1000).unref();
