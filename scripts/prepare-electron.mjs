#!/usr/bin/env node
// Builds better-sqlite3 for Electron's ABI into .electron-native/, before `npm start`/`npm run dev`.
//
// Why a separate copy: tests and the CLI run under plain Node and need node_modules' Node build;
// rebuilding node_modules in place for Electron (or in postinstall, which would need the network)
// would break them. The Electron main process points better-sqlite3 at this copy through
// STUDIO_SQLITE_NATIVE_BINDING (see src-main/hosts/electron/nativeSqlite.ts).
//
// Layout: .electron-native/{package.json, node_modules/better-sqlite3/, stamp.json}. The stamp
// records the Electron and better-sqlite3 versions; when both still match, this does nothing.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = path.join(root, '.electron-native');
const moduleName = 'better-sqlite3';
const sourceDir = path.join(root, 'node_modules', moduleName);
const targetDir = path.join(nativeDir, 'node_modules', moduleName);
const bindingFile = path.join(targetDir, 'build', 'Release', 'better_sqlite3.node');
const stampFile = path.join(nativeDir, 'stamp.json');

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'));
}

function fail(message) {
  console.error(`prepare-electron: ${message}`);
  process.exit(1);
}

if (!existsSync(path.join(root, 'node_modules', 'electron', 'package.json'))) {
  fail('the electron package is not installed; run "npm install" first.');
}
if (!existsSync(path.join(sourceDir, 'package.json'))) {
  fail(`${moduleName} is not installed; run "npm install" first.`);
}

const electronVersion = readJson(path.join(root, 'node_modules', 'electron', 'package.json')).version;
const moduleVersion = readJson(path.join(sourceDir, 'package.json')).version;
const wanted = { electron: electronVersion, [moduleName]: moduleVersion, platform: process.platform, arch: process.arch };

// Electron's own binary is fetched by the electron package on first launch; say so up front so a
// pause (or an offline failure) at launch is not a surprise.
const electronPathFile = path.join(root, 'node_modules', 'electron', 'path.txt');
const electronBinary = existsSync(electronPathFile)
  ? path.join(root, 'node_modules', 'electron', 'dist', readFileSync(electronPathFile, 'utf8').trim())
  : null;
if (!electronBinary || !existsSync(electronBinary)) {
  console.log(
    `prepare-electron: the Electron ${electronVersion} binary is not downloaded yet; it downloads on first launch (needs network once).`,
  );
}

if (existsSync(stampFile) && existsSync(bindingFile)) {
  try {
    const stamp = readJson(stampFile);
    if (Object.entries(wanted).every(([key, value]) => stamp[key] === value)) {
      console.log(`prepare-electron: ${moduleName} ${moduleVersion} is already built for Electron ${electronVersion}.`);
      process.exit(0);
    }
  } catch {
    // unreadable stamp: rebuild
  }
}

console.log(`prepare-electron: building ${moduleName} ${moduleVersion} for Electron ${electronVersion} in .electron-native/ ...`);
rmSync(nativeDir, { recursive: true, force: true });
mkdirSync(path.dirname(targetDir), { recursive: true });
// Copy without the Node build so a failed rebuild cannot leave a Node binary posing as Electron's.
cpSync(sourceDir, targetDir, {
  recursive: true,
  filter: (src) => !src.startsWith(path.join(sourceDir, 'build')),
});
writeFileSync(
  path.join(nativeDir, 'package.json'),
  `${JSON.stringify({ name: 'feature-studio-electron-native', private: true, dependencies: { [moduleName]: moduleVersion } }, null, 2)}\n`,
);

const { rebuild } = await import('@electron/rebuild');
try {
  await rebuild({
    buildPath: nativeDir,
    electronVersion,
    onlyModules: [moduleName],
    force: true,
    mode: 'sequential',
  });
} catch (err) {
  rmSync(nativeDir, { recursive: true, force: true });
  fail(
    `could not build ${moduleName} for Electron ${electronVersion}: ${err instanceof Error ? err.message : err}\n` +
      'This step downloads a prebuilt binary or Electron headers once, so it needs network access ' +
      '(and a C++ toolchain if no prebuilt binary exists). Run it again when online: node scripts/prepare-electron.mjs',
  );
}
if (!existsSync(bindingFile)) {
  rmSync(nativeDir, { recursive: true, force: true });
  fail(`the rebuild finished but ${path.relative(root, bindingFile)} is missing.`);
}
writeFileSync(stampFile, `${JSON.stringify({ ...wanted, builtAt: new Date().toISOString() }, null, 2)}\n`);
console.log(`prepare-electron: done (${path.relative(root, bindingFile)}).`);
