#!/usr/bin/env node
// Runs electron-builder (config: electron-builder.ts) with the arguments given, e.g.
//   node scripts/dist.mjs --linux        (npm run dist:linux)
//   node scripts/dist.mjs --publish never
//
// Why a wrapper: electron-builder rebuilds better-sqlite3 for Electron *in place* in
// node_modules (npmRebuild), which would leave the project's tests and CLI, which run under
// plain Node, with a binary for the wrong ABI. This saves the Node build of better_sqlite3.node
// before packaging and always puts it back afterwards, whether packaging worked or not.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const binding = path.join(root, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
const backupDir = path.join(root, 'node_modules', '.cache', 'feature-studio', 'better-sqlite3-node-build');
const backup = path.join(backupDir, 'better_sqlite3.node');

/**
 * Puts the saved Node build back, unless the file there is already identical. Through a temporary
 * file and a rename, so a process that has the old library mapped is not disturbed.
 */
function restore() {
  if (existsSync(binding) && readFileSync(binding).equals(readFileSync(backup))) return false;
  mkdirSync(path.dirname(binding), { recursive: true });
  const temp = `${binding}.restore-${process.pid}`;
  copyFileSync(backup, temp);
  renameSync(temp, binding);
  return true;
}

// A backup left by an interrupted run is the Node build: restore it before anything else.
if (existsSync(backup)) {
  restore();
} else if (existsSync(binding)) {
  mkdirSync(backupDir, { recursive: true });
  copyFileSync(binding, backup);
}

let status = 1;
try {
  const cli = path.join(root, 'node_modules', 'electron-builder', 'cli.js');
  const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  if (result.error) console.error(`dist: could not run electron-builder: ${result.error.message}`);
  status = result.status ?? 1;
} finally {
  if (existsSync(backup)) {
    if (restore()) console.log('dist: restored the Node build of better-sqlite3 in node_modules.');
    rmSync(backupDir, { recursive: true, force: true });
  }
}
process.exit(status);
