// The stamp of the CLI bundle: which build in out/cli/ is current and which files it was built
// from. Written by build-cli.mjs, read by bin/studio.mjs at every start, so this file uses only
// node:fs (importing esbuild alone costs about 200 ms).
//
// A bundle is fresh when every file it was built from still has the modification time it had
// at build time, and none of them changed while the build ran. An edited, moved or deleted
// source changes an importer or removes an input, so it is always noticed; node_modules is
// covered by npm's own record of the install (node_modules/.package-lock.json, rewritten by
// every install), because npm stamps package files with a fixed 1985 date.

import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const STAMP_FORMAT = 1;

/** Files that shape the bundle besides the sources esbuild reports (relative to the project root). */
export const BUILD_CONFIG_FILES = [
  'package.json',
  'tsconfig.json',
  'node_modules/.package-lock.json',
  'scripts/build-cli.mjs',
  'scripts/build-cli-stamp.mjs',
];

/**
 * Where builds go: out/cli, or $STUDIO_CLI_BUILD_DIR relative to the project (tests use their
 * own). It must lie inside the project: the bundle imports the native packages it leaves out
 * (sharp, better-sqlite3, ...) from the node_modules folders above it.
 */
export function cliBuildRoot(projectRoot, env = process.env) {
  const dir = path.resolve(projectRoot, env.STUDIO_CLI_BUILD_DIR || path.join('out', 'cli'));
  const rel = path.relative(projectRoot, dir);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new Error(`STUDIO_CLI_BUILD_DIR must be a folder inside ${projectRoot} (the bundle loads node_modules from there), not ${dir}`);
  }
  return dir;
}

function mtimeOf(file) {
  return statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? null;
}

/**
 * The current bundle's entry file when it is fresh, else why not (for STUDIO_CLI_TRACE).
 * @returns {{ main: string } | { stale: string }}
 */
export function freshCliBundle(projectRoot, buildRoot) {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(path.join(buildRoot, 'stamp.json'), 'utf8'));
  } catch {
    return { stale: `no build in ${buildRoot}` };
  }
  if (stamp.format !== STAMP_FORMAT || typeof stamp.build !== 'string' || typeof stamp.files !== 'object') {
    return { stale: 'stamp from another version of the build script' };
  }
  for (const [file, mtime] of Object.entries(stamp.files)) {
    if (mtime !== null && mtime >= stamp.started) return { stale: `${file} changed while the bundle was built` };
    if (mtimeOf(path.join(projectRoot, file)) !== mtime) return { stale: `${file} changed` };
  }
  const main = path.join(buildRoot, stamp.build, 'main.js');
  if (mtimeOf(main) === null) return { stale: `${main} is missing` };
  return { main };
}

/** Records build BUILD (a folder of buildRoot) as current; FILES are relative to projectRoot. */
export function writeCliStamp(projectRoot, buildRoot, { build, started, files }) {
  const mtimes = {};
  for (const file of files) mtimes[file] = mtimeOf(path.join(projectRoot, file));
  const stamp = { format: STAMP_FORMAT, build, started, files: mtimes };
  // Rename over the old stamp, so a concurrent start reads either the old or the new one whole.
  const tmp = path.join(buildRoot, `stamp.json.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(stamp, null, 1)}\n`);
  renameSync(tmp, path.join(buildRoot, 'stamp.json'));
}
