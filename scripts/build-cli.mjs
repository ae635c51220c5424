#!/usr/bin/env node
// Builds the `studio` command into out/cli/: the CLI (src-main/hosts/cli/main.ts) and the index and
// analysis workers it spawns, bundled by esbuild so a start parses a few files instead of compiling
// about 180 TypeScript sources through tsx (`studio --help`: 80 against 300 ms of CPU; bench:cli).
//
// Runs at `npm install` (the `prepare` script) and, from bin/studio.mjs, whenever a file the bundle
// was built from changed since (build-cli-stamp.mjs), so an edited source never runs stale.
//
//   node scripts/build-cli.mjs            build, print where and how long
//   node scripts/build-cli.mjs --if-able  the same, but a failure is a warning (npm install must not
//                                         fail over it: bin/studio.mjs then runs the sources)
//
// Each build is a new folder (out/cli/b-<time>-<pid>/) named by out/cli/stamp.json, so a running
// `studio serve` keeps loading its own chunks and workers while a newer build replaces it; the
// three newest builds are kept.

import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_CONFIG_FILES, cliBuildRoot, freshCliBundle, writeCliStamp } from './build-cli-stamp.mjs';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KEEP_BUILDS = 3;

// Entry names matter: core/jobs/workerEntry.ts looks for each worker as <name>.js beside the
// bundle that spawns it, as in the Electron build (out/main/).
const ENTRY_POINTS = {
  main: 'src-main/hosts/cli/main.ts',
  indexWorker: 'src-main/worker/indexWorker.ts',
  analysisWorker: 'src-main/worker/analysisWorker.ts',
  walCheckpointWorker: 'src-main/worker/walCheckpointWorker.ts',
};

// Loaded from node_modules at run time: native addons (and the packages that locate them), and
// build tools the CLI imports only on demand (`serve` building the UI, Electron's SQLite rebuild).
// Pure-JS dependencies (commander, zod, onnx-proto) are bundled: zod alone costs about 70 ms of
// CPU to load as its hundreds of separate files.
const EXTERNAL = [
  'better-sqlite3',
  'onnxruntime-node',
  'sharp',
  '@ffmpeg-installer/*',
  'electron',
  'vite',
  '@electron/rebuild',
];

// The bundled CommonJS packages call require(); an ES module has none, so each chunk gets one.
const REQUIRE_SHIM =
  "import { createRequire as __studioCreateRequire } from 'node:module'; const require = __studioCreateRequire(import.meta.url);";

/**
 * Builds the CLI bundle and makes it current. Returns the entry file and timings.
 * @param {{ projectRoot?: string, buildRoot?: string, logLevel?: 'warning' | 'error' | 'silent' }} [options]
 */
export async function buildCli(options = {}) {
  const projectRoot = options.projectRoot ?? PROJECT_ROOT;
  const buildRoot = options.buildRoot ?? cliBuildRoot(projectRoot);
  const started = Date.now();
  const build = `b-${started.toString(36)}-${process.pid}`;
  const outdir = path.join(buildRoot, build);
  mkdirSync(buildRoot, { recursive: true });

  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: projectRoot,
    entryPoints: ENTRY_POINTS,
    outdir,
    bundle: true,
    splitting: true, // commands load their code when they run (program.ts imports them lazily)
    chunkNames: '[name]-[hash]', // flat: import.meta.url-relative paths are the same in every chunk
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    external: EXTERNAL,
    banner: { js: REQUIRE_SHIM },
    // Stack traces map back to src-main with NODE_OPTIONS=--enable-source-maps.
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: options.logLevel ?? 'warning',
  });

  // What each chunk holds and imports, for size questions (esbuild's analyzer reads it) and tests.
  writeFileSync(path.join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  const sources = Object.keys(result.metafile.inputs).filter((file) => !file.startsWith('node_modules/'));
  writeCliStamp(projectRoot, buildRoot, { build, started, files: [...sources, ...BUILD_CONFIG_FILES] });
  pruneOldBuilds(buildRoot, build);

  const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
  return { main: path.join(outdir, 'main.js'), outdir, sources: sources.length, bytes, ms: Date.now() - started };
}

const LOCK_STALE_MS = 120_000;

/**
 * buildCli for bin/studio.mjs: one build at a time per build folder. Starts that find the bundle
 * stale together (`studio index --devices` starts one `studio` per device) wait for the first
 * one's build and use it, instead of each building its own. A lock left by a killed build is
 * taken over once its process is gone (or after 2 minutes, when it ran on another machine).
 * @returns {Promise<{ main: string, ms: number, byAnotherStart: boolean }>}
 */
export async function buildCliOnce(options = {}) {
  const projectRoot = options.projectRoot ?? PROJECT_ROOT;
  const buildRoot = options.buildRoot ?? cliBuildRoot(projectRoot);
  const lock = path.join(buildRoot, 'build.lock');
  const t0 = Date.now();
  mkdirSync(buildRoot, { recursive: true });
  for (let waited = false; ; waited = true) {
    let fd;
    try {
      fd = openSync(lock, 'wx');
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      try {
        writeSync(fd, `${os.hostname()} ${process.pid}\n`);
        const fresh = waited ? freshCliBundle(projectRoot, buildRoot) : { stale: 'not checked' };
        if ('main' in fresh) return { main: fresh.main, ms: Date.now() - t0, byAnotherStart: true };
        const built = await buildCli({ ...options, projectRoot, buildRoot });
        return { main: built.main, ms: built.ms, byAnotherStart: false };
      } finally {
        closeSync(fd);
        rmSync(lock, { force: true });
      }
    }
    if (lockIsStale(lock)) rmSync(lock, { force: true });
    else await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function lockIsStale(lock) {
  let owner;
  let mtime;
  try {
    owner = readFileSync(lock, 'utf8').trim().split(' ');
    mtime = statSync(lock).mtimeMs;
  } catch {
    return false; // just released, or not written yet: look again
  }
  if (Date.now() - mtime > LOCK_STALE_MS) return true;
  const [host, pid] = owner;
  if (host !== os.hostname() || !Number(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return err.code === 'ESRCH';
  }
}

function pruneOldBuilds(buildRoot, current) {
  const builds = readdirSync(buildRoot)
    .filter((name) => name.startsWith('b-') && name !== current)
    .map((name) => ({ name, mtime: statSync(path.join(buildRoot, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const { name } of builds.slice(KEEP_BUILDS - 1)) {
    rmSync(path.join(buildRoot, name), { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ifAble = process.argv.includes('--if-able');
  try {
    const built = await buildCli();
    const rel = path.relative(process.cwd(), built.outdir) || '.';
    console.log(`CLI bundle: ${rel} (${built.sources} sources, ${(built.bytes / 1e6).toFixed(1)} MB) in ${built.ms} ms`);
  } catch (err) {
    console.error(`${ifAble ? 'warning: ' : ''}could not build the CLI bundle: ${err instanceof Error ? err.message : err}`);
    if (ifAble) console.error('`studio` will build it on first use, or run the TypeScript sources (slower start).');
    process.exitCode = ifAble ? 0 : 1;
  }
}
