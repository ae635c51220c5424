import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

// A fresh `node_modules/electron` as npm leaves it: package.json and install.js, no path.txt, no
// dist/. The install.js is a stand-in for Electron's downloader whose behaviour the test picks;
// each run appends its name to calls.log in the project root, so tests can see what ran in which
// order, and records the environment it was given.

export type InstallerBehaviour = 'installs' | 'fails-offline' | 'hangs' | 'exits-without-binary';

const SCRIPTS: Record<InstallerBehaviour, string> = {
  installs: `
    fs.mkdirSync(path.join(__dirname, 'dist'), { recursive: true });
    // a partial download in the installer's temp folder, for the progress line
    fs.writeFileSync(path.join(os.tmpdir(), 'electron-v0.zip'), Buffer.alloc(300000));
    const bin = path.join(__dirname, 'dist', 'electron');
    fs.writeFileSync(bin, '#!/bin/sh\\n');
    fs.chmodSync(bin, 0o755);
    setTimeout(() => fs.writeFileSync(path.join(__dirname, 'path.txt'), 'electron'), 1300);`,
  'fails-offline': `
    console.error('TypeError: fetch failed');
    console.error('    at node:internal/deps/undici/undici:14976:13');
    process.exit(1);`,
  hangs: `setInterval(() => {}, 1000);`,
  'exits-without-binary': `process.exit(0);`,
};

export function writeFakeElectronPackage(projectRoot: string, behaviour: InstallerBehaviour, version = '45.4.1'): string {
  const dir = path.join(projectRoot, 'node_modules', 'electron');
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'electron', version }));
  writeFileSync(
    path.join(dir, 'install.js'),
    `const fs = require('fs'); const os = require('os'); const path = require('path');
fs.appendFileSync(path.join(__dirname, '..', '..', 'calls.log'), 'installer\\n');
fs.writeFileSync(path.join(__dirname, '..', '..', 'installer-env.json'), JSON.stringify(process.env));
${SCRIPTS[behaviour]}
`,
  );
  return dir;
}
